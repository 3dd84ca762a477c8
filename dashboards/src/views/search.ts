import { filterHref } from '../filter.js';
import { html, type SafeHtml } from '../html.js';
import type { SearchAnswer } from '../http/search-route.js';
import { isEmptyResults, type NameHit } from '../search.js';
import { errorHref, formatCount, timeCell, truncate } from './format.js';
import { emptyState, heading, page, searchBox } from './layout.js';

/** The result page of a free-text search: what matched, grouped by kind, each linking to its list. */
export function searchPage(site: string, answer: SearchAnswer, now: number): SafeHtml {
  const { text, results, filter } = answer;
  const names = (title: string, path: string, hits: NameHit[]): SafeHtml =>
    hits.length === 0
      ? html``
      : html`<section class="search-kind"><h2>${title}</h2><table>
<thead><tr><th>Name</th><th>App</th><th class="num">Events</th><th>Last seen</th></tr></thead>
<tbody>${hits.map(
          (h) =>
            html`<tr><td class="main"><a href="${filterHref(path, { ...filter, app: h.app })}"><code>${h.name}</code></a></td><td>${h.app}</td><td class="num">${formatCount(h.events)}</td><td>${timeCell(h.lastSeen, now)}</td></tr>`,
        )}</tbody></table></section>`;
  const body = html`${heading('Search', 'Ids (event, session, user, trace) open their page; other text finds error types and messages, feature, assert and blocked names.')}
${searchBox(text)}
${
  text === ''
    ? emptyState('Type an id or some text to search for.')
    : isEmptyResults(results)
      ? emptyState(html`Nothing matches <code>${text}</code>.`)
      : html`${
          results.errors.length > 0 &&
          html`<section class="search-kind"><h2>Errors</h2><table>
<thead><tr><th>Error</th><th>App</th><th class="num">Events</th><th>Last seen</th></tr></thead>
<tbody>${results.errors.map(
            (e) =>
              html`<tr><td class="main"><a href="${errorHref(e.fingerprint, e.app)}"><span class="etype">${e.type}</span> <span class="emsg">${truncate(e.message, 160)}</span></a></td><td>${e.app}</td><td class="num">${formatCount(e.events)}</td><td>${timeCell(e.lastSeen, now)}</td></tr>`,
          )}</tbody></table></section>`
        }
${names('Features', '/features', results.features)}
${names('Asserts', '/asserts', results.asserts)}
${names('Blocked', '/blocked', results.blocked)}`
}`;
  return page({ site, title: text === '' ? 'Search' : `Search: ${truncate(text, 40)}`, body });
}
