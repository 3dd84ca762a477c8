import { html, type SafeHtml } from '../html.js';
import { emptyState, heading, page } from './layout.js';

export const APPS_PATH = '/apps';

/** An app as the Apps page lists it: what a team needs to point a Sentry SDK at Telltale. */
export interface AppDsnView {
  id: string;
  name: string;
  projectId: number;
  /** Undefined when none of the app's ingest keys fits in a DSN (a `-` in it). */
  dsn: string | undefined;
}

/** `/apps`: each app's Sentry DSN (docs/sentry.md); the keys in it are the public ingest keys. */
export function appsPage(site: string, apps: readonly AppDsnView[]): SafeHtml {
  const body = html`${heading(
    'Apps',
    html`Apps already using a Sentry SDK switch by changing the DSN (<code>Sentry.init({ dsn })</code>); add and rotate keys with <code>telltale apps</code>.`,
  )}
${
  apps.length === 0
    ? emptyState('No apps yet: telltale apps add web')
    : html`<table>
<thead><tr><th>App</th><th>Project id</th><th>Sentry DSN</th></tr></thead>
<tbody>${apps.map(
        (a) => html`<tr>
<td class="main">${a.name} <span class="chip">${a.id}</span></td>
<td>${a.projectId}</td>
<td>${a.dsn === undefined ? html`none: every ingest key has a "-"; run <code>telltale apps rotate-key ${a.id}</code>` : html`<code>${a.dsn}</code>`}</td>
</tr>`,
      )}</tbody>
</table>`
}`;
  return page({ site, title: 'Apps', section: 'apps', body });
}
