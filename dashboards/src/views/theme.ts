import { html, type SafeHtml } from '../html.js';

/** Served by pages.ts from 'self' like live.js, so the strict CSP (no inline script) holds. */
export const THEME_SCRIPT_PATH = '/assets/theme.js';

/**
 * The choices of the header's theme switch, in the order a press steps through them; "system"
 * follows the OS (prefers-color-scheme) and is what applies without script.
 */
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

/** The script, in the <head> without `defer`: `<html data-theme>` is set before the body is drawn. */
export function themeScript(): SafeHtml {
  return html`<script src="${THEME_SCRIPT_PATH}"></script>`;
}

/** 16×16 icons drawn in currentColor; the stylesheet shows the one of the current choice. */
const ICONS: Record<Theme, SafeHtml> = {
  system: html`<circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" stroke-width="1.5"/><path d="M8 1.75a6.25 6.25 0 0 1 0 12.5z" fill="currentColor"/>`,
  light: html`<circle cx="8" cy="8" r="3" fill="currentColor"/><path d="M8 .75v2M8 13.25v2M.75 8h2M13.25 8h2M2.9 2.9l1.4 1.4M11.7 11.7l1.4 1.4M2.9 13.1l1.4-1.4M11.7 4.3l1.4-1.4" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"/>`,
  dark: html`<path d="M6.2 1.2a6.9 6.9 0 1 0 8.6 8.6A5.6 5.6 0 0 1 6.2 1.2z" fill="currentColor"/>`,
};

/**
 * The header's switch: one small button that steps system → light → dark, remembered in
 * localStorage for every page; its label says the current choice and the next. Hidden until the
 * script shows it, since without script it could not do anything.
 */
export function themeSwitch(): SafeHtml {
  return html`<button type="button" class="theme" hidden data-choice="system" aria-label="Colour theme: follows the system">${THEMES.map(
    (theme) =>
      html`<svg class="theme-icon theme-${theme}" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">${ICONS[theme]}</svg>`,
  )}</button>`;
}

export const THEME_SCRIPT = `(() => {
  const KEY = 'telltale.theme';
  const NEXT = { system: 'light', light: 'dark', dark: 'system' };
  const SAYS = { system: 'follows the system', light: 'light', dark: 'dark' };
  const root = document.documentElement;
  // Storage can be refused (privacy settings): the OS's choice applies then.
  const stored = () => {
    try {
      const value = localStorage.getItem(KEY);
      return value === 'light' || value === 'dark' ? value : 'system';
    } catch {
      return 'system';
    }
  };
  let current = 'system';
  const show = (theme) => {
    current = theme;
    if (theme === 'system') delete root.dataset.theme;
    else root.dataset.theme = theme;
    const button = document.querySelector('button.theme');
    if (button === null) return;
    const label = 'Colour theme: ' + SAYS[theme] + '. Press for ' + (NEXT[theme] === 'system' ? 'the system setting' : NEXT[theme]) + '.';
    button.dataset.choice = theme;
    button.setAttribute('aria-label', label);
    button.title = label;
  };
  show(stored());
  document.addEventListener('DOMContentLoaded', () => {
    const button = document.querySelector('button.theme');
    if (button === null) return;
    show(current);
    button.addEventListener('click', () => {
      const next = NEXT[current];
      try {
        if (next === 'system') localStorage.removeItem(KEY);
        else localStorage.setItem(KEY, next);
      } catch {}
      show(next);
    });
    button.hidden = false;
  });
  // Another tab changed it, or the page came back from the back/forward cache.
  addEventListener('storage', (event) => {
    if (event.key === KEY || event.key === null) show(stored());
  });
  addEventListener('pageshow', () => show(stored()));
})();
`;
