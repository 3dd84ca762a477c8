import { html, type SafeHtml } from '../html.js';

/** Served by pages.ts from 'self', so the strict CSP (no inline script) holds. */
export const LIVE_SCRIPT_PATH = '/assets/live.js';

/** Seconds between reloads of a live page. */
export const LIVE_SECONDS = 5;

/**
 * The "live" switch of a list page: a toggle button, and the script that reloads the page every few
 * seconds unless the person paused it (kept in localStorage for every page), the tab is hidden, or
 * a form field has the focus. A `<meta http-equiv="refresh">` gave no way to stop it (WCAG 2.2.1,
 * axe-core's meta-refresh rule); without script the page simply stays as it is.
 */
export function liveSwitch(): SafeHtml {
  return html`<button type="button" class="live" aria-pressed="true" title="This page refreshes every ${String(LIVE_SECONDS)} seconds: press to pause">live</button><script src="${LIVE_SCRIPT_PATH}" defer></script>`;
}

export const LIVE_SCRIPT = `(() => {
  const KEY = 'telltale.live';
  const button = document.querySelector('button.live');
  if (button === null) return;
  const paused = () => localStorage.getItem(KEY) === 'paused';
  const show = () => {
    const off = paused();
    button.setAttribute('aria-pressed', String(!off));
    button.textContent = off ? 'paused' : 'live';
    button.title = off
      ? 'Press to refresh this page every ${LIVE_SECONDS} seconds again'
      : 'This page refreshes every ${LIVE_SECONDS} seconds: press to pause';
  };
  button.addEventListener('click', () => {
    localStorage.setItem(KEY, paused() ? 'live' : 'paused');
    show();
  });
  show();
  setInterval(() => {
    const busy = document.activeElement !== null && document.activeElement.matches('input, select, textarea');
    if (!paused() && document.visibilityState === 'visible' && !busy) location.reload();
  }, ${LIVE_SECONDS * 1000});
})();
`;
