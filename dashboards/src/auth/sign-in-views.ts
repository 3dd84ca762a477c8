import { html, type SafeHtml } from '../html.js';
import { emptyState, heading, page, STYLESHEET_PATH } from '../views/layout.js';
import type { UserRecord } from './access-store.js';
import type { Viewer } from './sessions.js';

export interface LoginPageOptions {
  site: string;
  next: string;
  email?: string;
  problem?: string;
  /** Show "Sign in with SSO" (TELLTALE_OIDC_ISSUER is set). */
  sso: boolean;
  /** No user exists yet: say where the first-start link is. */
  noUsers: boolean;
}

/** The sign-in page: the dashboards' stylesheet, no nav (nothing behind it is reachable yet), no script. */
export function loginPage(options: LoginPageOptions): SafeHtml {
  const { site, next, problem, sso, noUsers } = options;
  const ssoHref = `/auth/oidc/login${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · ${site}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header class="topbar"><span class="brand">${site}</span></header>
<main>
${heading('Sign in')}
${problem !== undefined && html`<p class="notice notice-warn" role="alert">${problem}</p>`}
${noUsers && html`<p class="notice notice-info">No user exists yet. Open the one-time link that <code>telltale start</code> printed, or add one: <code>telltale users add you@example.com</code>.</p>`}
<form class="rule-form" method="post" action="/login">
<input type="hidden" name="next" value="${next}">
<label>Email <input type="text" name="email" autocomplete="username" maxlength="254" required value="${options.email ?? ''}"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" maxlength="1024" required></label>
<button type="submit">Sign in</button>
</form>
${sso && html`<p><a href="${ssoHref}">Sign in with SSO</a></p>`}
</main>
</body>
</html>
`;
}

export interface AccountPageOptions {
  site: string;
  viewer: Viewer;
  /** Listed for admins only. */
  users?: readonly UserRecord[];
  problem?: string;
  done?: string;
}

/** The signed-in person, and for admins the people who may sign in. */
export function accountPage(options: AccountPageOptions): SafeHtml {
  const { site, viewer, users, problem, done } = options;
  const firstStart = viewer.via === 'first-start';
  const body = html`${heading(
    'Account',
    firstStart
      ? 'You signed in with the one-time start-up link. Create your admin account: the link will not work again.'
      : html`Signed in as <b>${viewer.email}</b> (${viewer.role}).`,
  )}
${problem !== undefined && html`<p class="notice notice-warn" role="alert">${problem}</p>`}
${done !== undefined && html`<p class="notice notice-info">${done}</p>`}
${
  viewer.role === 'admin' &&
  html`<h2>${firstStart ? 'Your admin account' : 'Add a person'}</h2>
<form class="rule-form" method="post" action="/account/users">
<label>Email <input type="text" name="email" autocomplete="off" maxlength="254" required></label>
<label>Password <input type="password" name="password" autocomplete="new-password" maxlength="1024" required></label>
${
  firstStart
    ? html`<input type="hidden" name="role" value="admin">`
    : html`<label>Role <select name="role"><option value="viewer">viewer (reads)</option><option value="admin">admin (changes state)</option></select></label>`
}
<button type="submit">${firstStart ? 'Create and sign in' : 'Add'}</button>
</form>`
}
${
  users !== undefined &&
  html`<h2>People</h2>${
    users.length === 0
      ? emptyState('Nobody yet.')
      : html`<table class="compact"><thead><tr><th>Email</th><th>Role</th><th>Added</th></tr></thead><tbody>${users.map(
          (user) =>
            html`<tr><td>${user.email}</td><td>${user.role}</td><td class="nowrap">${user.createdAt.slice(0, 10)}</td></tr>`,
        )}</tbody></table>`
  }<p class="muted">Remove people and make API tokens with <code>telltale users</code> and <code>telltale tokens</code>.</p>`
}`;
  return page({ site, title: 'Account', body });
}
