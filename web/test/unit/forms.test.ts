import { describe, expect, it } from 'vitest';
import { fieldErrors, toProblem } from '../../src/api/problem';
import { validateRegistration } from '../../src/pages/register';
import { toRequest } from '../../src/api/writes';

describe('problem documents', () => {
  it('maps errors[].loc onto field names', () => {
    expect(fieldErrors({ errors: [{ loc: ['body', 'email'], msg: 'taken', type: 't' }, { loc: ['body', 'email'], msg: 'second', type: 't' }] })).toEqual({ email: 'taken' });
  });
  it('reads a problem response, with Retry-After', async () => {
    const res = new Response(JSON.stringify({ code: 'validation_failed', detail: 'bad', status: 422, errors: [{ loc: ['body', 'name'], msg: 'too long', type: 'x' }] }), {
      status: 422,
      headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '3' },
    });
    const p = await toProblem(res);
    expect(p).toMatchObject({ status: 422, code: 'validation_failed', detail: 'bad', fields: { name: 'too long' }, retryAfter: 3 });
  });
  it('survives a body that is not JSON', async () => {
    const p = await toProblem(new Response('<html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(p.code).toBe('http_502');
  });
});

describe('registration form', () => {
  it('asks for every field', () => {
    expect(Object.keys(validateRegistration({}))).toEqual(['full_name', 'email', 'password']);
  });
  it('checks the email shape and the password length and equality rule', () => {
    expect(validateRegistration({ full_name: 'A', email: 'nope', password: 'longenough' })).toHaveProperty('email');
    expect(validateRegistration({ full_name: 'A', email: 'a@b.c', password: 'short' })).toHaveProperty('password');
    expect(validateRegistration({ full_name: 'A', email: 'a@b.cc', password: 'a@b.cc' })).toHaveProperty('password');
    expect(validateRegistration({ full_name: 'A', email: 'a@b.c', password: 'longenough' })).toEqual({});
  });
});

describe('writes', () => {
  it('sends an Idempotency-Key on resource writes and If-Match when an ETag is known', () => {
    const req = toRequest({ method: 'PATCH', url: '/api/v1/projects/1', body: { name: 'x' }, ifMatch: '"v1"', idempotencyKey: 'k1' });
    expect(req.headers.get('Idempotency-Key')).toBe('k1');
    expect(req.headers.get('If-Match')).toBe('"v1"');
    expect(req.headers.get('Content-Type')).toBe('application/json');
  });
  it('makes a key for a write that has none, and none for account routes', () => {
    expect(toRequest({ method: 'POST', url: '/api/v1/support/tickets', body: {} }).headers.get('Idempotency-Key')).toMatch(/^[0-9a-f-]{36}$/);
    expect(toRequest({ method: 'POST', url: '/api/v1/users/me/password', body: {} }).headers.get('Idempotency-Key')).toBeNull();
  });
});
