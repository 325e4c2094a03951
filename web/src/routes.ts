// Every page of web.md, each a lazily loaded chunk (see the budget in scripts/budget.mjs).
import { msg } from '@lit/localize';
import type { Route } from './router';

export const routes: Route[] = [
  { path: '/', tag: 'nf-landing', load: () => import('./pages/landing'), title: () => msg('Home') },
  { path: '/login', tag: 'nf-login', load: () => import('./pages/login'), title: () => msg('Sign in'), access: 'anon' },
  { path: '/register', tag: 'nf-register', load: () => import('./pages/register'), title: () => msg('Create account'), access: 'anon' },
  { path: '/verify-email', tag: 'nf-verify-email', load: () => import('./pages/email-flows'), title: () => msg('Verify email') },
  { path: '/forgot-password', tag: 'nf-forgot-password', load: () => import('./pages/email-flows'), title: () => msg('Forgot password') },
  { path: '/reset-password', tag: 'nf-reset-password', load: () => import('./pages/email-flows'), title: () => msg('Choose a new password') },
  { path: '/projects', tag: 'nf-projects', load: () => import('./pages/projects'), title: () => msg('Projects'), access: 'user' },
  { path: '/projects/:id', tag: 'nf-project', load: () => import('./pages/project'), title: () => msg('Project'), access: 'user' },
  { path: '/support', tag: 'nf-support', load: () => import('./pages/support'), title: () => msg('Support') },
  { path: '/support/:id', tag: 'nf-ticket', load: () => import('./pages/ticket'), title: () => msg('Ticket'), access: 'user' },
  { path: '/community', tag: 'nf-community', load: () => import('./pages/community'), title: () => msg('Community') },
  { path: '/community/:id', tag: 'nf-post', load: () => import('./pages/post'), title: () => msg('Post') },
  { path: '/status', tag: 'nf-status', load: () => import('./pages/status'), title: () => msg('Status') },
  { path: '/settings', tag: 'nf-settings', load: () => import('./pages/settings'), title: () => msg('Settings'), access: 'user' },
  { path: '/admin', tag: 'nf-admin', load: () => import('./pages/admin'), title: () => msg('Administration'), access: 'admin' },
];

export const notFound: Route = {
  path: '*',
  tag: 'nf-not-found',
  load: () => import('./pages/not-found'),
  title: () => msg('Page not found'),
};
