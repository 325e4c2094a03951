// RFC 9457 problem documents (api.md §0) as one error type the pages can show: `detail` for the
// page, `errors[].loc` mapped onto form fields, `retryAfter` for 429/503.
import type { components } from './schema';

export type Problem = components['schemas']['Problem'];
export type FieldErrors = Record<string, string>;

export class ProblemError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly fields: FieldErrors;
  readonly retryAfter: number | null;

  constructor(status: number, code: string, detail: string, fields: FieldErrors = {}, retryAfter: number | null = null) {
    super(detail);
    this.name = 'ProblemError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }

  /** A failure before any HTTP answer (offline, DNS, reset). Part 2 queues writes that end here. */
  static network(): ProblemError {
    return new ProblemError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
}

/** `["body","name"]` → `name`: the field a validation error belongs to. */
export function fieldErrors(problem: Pick<Problem, 'errors'> | null | undefined): FieldErrors {
  const out: FieldErrors = {};
  for (const e of problem?.errors ?? []) {
    const key = e.loc.length > 1 ? e.loc.slice(1).join('.') : e.loc[0] ?? '';
    if (!(key in out)) out[key] = e.msg;
  }
  return out;
}

/** Reads a failed response into a ProblemError, tolerating bodies that are not problem documents. */
export async function toProblem(res: Response, body?: unknown): Promise<ProblemError> {
  let doc: Partial<Problem> | undefined = body as Partial<Problem> | undefined;
  if (doc === undefined) {
    try {
      doc = (await res.clone().json()) as Partial<Problem>;
    } catch {
      doc = undefined;
    }
  }
  const ra = Number(res.headers.get('Retry-After'));
  return new ProblemError(
    res.status,
    doc?.code ?? 'http_' + res.status,
    doc?.detail ?? (res.statusText || 'The request failed.'),
    fieldErrors(doc as Problem | undefined),
    Number.isFinite(ra) && ra > 0 ? ra : null,
  );
}
