import { html, trustedHtml, type SafeHtml } from '../html.js';
import { liveSwitch } from './live.js';
import { themeScript, themeSwitch } from './theme.js';

export type Section =
  'errors' | 'features' | 'asserts' | 'blocked' | 'events' | 'logs' | 'alerts' | 'apps' | 'health';

const NAV: ReadonlyArray<[Section, string, string]> = [
  ['errors', 'Errors', '/'],
  ['features', 'Features', '/features'],
  ['asserts', 'Asserts', '/asserts'],
  ['blocked', 'Blocked', '/blocked'],
  ['events', 'Events', '/events'],
  ['logs', 'Server logs', '/logs'],
  ['alerts', 'Alerts', '/alerts'],
  ['apps', 'Apps', '/apps'],
  ['health', 'Health', '/health'],
];

export interface PageOptions {
  /** Product title in the nav bar and the tab. */
  site: string;
  title: string;
  section?: Section;
  /** List pages reload themselves so new events show up without a click, until paused (views/live.ts). */
  refresh?: boolean;
  body: SafeHtml;
}

export const STYLESHEET_PATH = '/assets/dashboard.css';

/** Filled per request by the access hook (auth/access-hook.ts) with viewerBadge; empty without one. */
export const VIEWER_SLOT = '<!--telltale:viewer-->';

/** Filled per request by the health banner hook (http/health.ts) while the pipeline is failing; empty otherwise. */
export const HEALTH_SLOT = '<!--telltale:health-->';

/** Filled by a list page's route with its filter bar (views/filter-bar.ts); empty otherwise. */
export const FILTER_SLOT = '<!--telltale:filter-->';

/** The lists whose nav links carry the filter bar's query (they all take it). */
const FILTERED_SECTIONS: ReadonlySet<Section> = new Set([
  'errors',
  'features',
  'asserts',
  'blocked',
  'events',
]);

/** The top navigation; `query` (`?range=24h&…`) is appended to the links of the filtered lists. */
export function navLinks(section: Section | undefined, query = ''): SafeHtml {
  return html`${NAV.map(
    ([key, label, href]) =>
      html`<a href="${FILTERED_SECTIONS.has(key) ? `${href}${query}` : href}"${key === section ? html` class="active" aria-current="page"` : ''}>${label}</a>`,
  )}`;
}

/** The search box of every page: ids jump to their page, other text searches (GET /search). */
export function searchBox(q = ''): SafeHtml {
  return html`<form class="search" method="get" action="/search" role="search"><input type="search" name="q" value="${q}" maxlength="200" placeholder="Search ids, errors, features…" aria-label="Search"> <button type="submit">Search</button></form>`;
}

/** Who is signed in, and the sign-out button (a form: signing out changes state, so it is a POST). */
export function viewerBadge(email: string, role: string): SafeHtml {
  return html`<form class="viewer" method="post" action="/logout"><a href="/account" title="${role}">${email}</a> <button type="submit">Sign out</button></form>`;
}

export function page(options: PageOptions): SafeHtml {
  const { site, title, section, refresh, body } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title} · ${site}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
${themeScript()}
</head>
<body>
<header class="topbar">
<a class="brand" href="/">${site}</a>
<nav>${navLinks(section)}</nav>
${searchBox()}
${themeSwitch()}
${refresh === true && liveSwitch()}
${trustedHtml(VIEWER_SLOT)}
</header>
${trustedHtml(HEALTH_SLOT)}
<main>
${trustedHtml(FILTER_SLOT)}
${body}
</main>
</body>
</html>
`;
}

/** A page heading with an optional one-line explanation for newcomers. */
export function heading(title: string, lead?: string | SafeHtml): SafeHtml {
  return html`<h1>${title}</h1>${lead !== undefined && html`<p class="lead">${lead}</p>`}`;
}

export function emptyState(message: string | SafeHtml): SafeHtml {
  return html`<div class="empty">${message}</div>`;
}

export function messagePage(site: string, title: string, message: string): SafeHtml {
  return page({ site, title, body: html`${heading(title)}${emptyState(message)}` });
}
