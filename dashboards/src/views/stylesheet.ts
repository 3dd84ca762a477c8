/**
 * Every colour the dashboards use, once per theme, as CSS custom properties: the rules below and the
 * charts (views/chart.ts, by class) name only these. Text pairs meet WCAG AA (4.5:1) in both themes,
 * chart series and markers 3:1 against the page (test/theme.test.ts measures them).
 */
export interface Palette {
  /** The page, and text on an `--fg` chip. */
  bg: string;
  fg: string;
  /** Secondary text: leads, table heads, timestamps. */
  muted: string;
  /** Table heads, cards, code blocks, the filter bar. */
  panel: string;
  'row-hover': string;
  /** Decorative borders of tables, cards and panels. */
  line: string;
  /** Borders of form fields and buttons, 3:1 against the page (WCAG 1.4.11). */
  'control-line': string;
  accent: string;
  /** The header bar: dark in both themes. */
  bar: string;
  'bar-fg': string;
  'bar-strong': string;
  'bar-hover': string;
  'bar-active': string;
  live: string;
  /** Event kinds, badges and levels. */
  error: string;
  assert: string;
  feature: string;
  blocked: string;
  log: string;
  /** Muted text on an `--fg` chip (the active filter tab). */
  'inverse-muted': string;
  /** The failing-pipeline banner. */
  'danger-bg': string;
  'danger-fg': string;
  /** Chart series, in order (.series-0 … .series-5). */
  'chart-0': string;
  'chart-1': string;
  'chart-2': string;
  'chart-3': string;
  'chart-4': string;
  'chart-5': string;
}

export const LIGHT_PALETTE: Readonly<Palette> = {
  bg: '#ffffff',
  fg: '#1f2328',
  muted: '#656d76',
  panel: '#f6f8fa',
  'row-hover': '#f9fbfd',
  line: '#d0d7de',
  'control-line': '#818b98',
  accent: '#0969da',
  bar: '#1f2328',
  'bar-fg': '#e6edf3',
  'bar-strong': '#ffffff',
  'bar-hover': '#313539',
  'bar-active': '#43464a',
  live: '#7ee2a8',
  error: '#cf222e',
  assert: '#9a6700',
  feature: '#1a7f37',
  blocked: '#8250df',
  log: '#57606a',
  'inverse-muted': '#d0d7de',
  'danger-bg': '#cf222e',
  'danger-fg': '#ffffff',
  'chart-0': '#cf222e',
  'chart-1': '#0969da',
  'chart-2': '#1a7f37',
  'chart-3': '#8250df',
  'chart-4': '#9a6700',
  'chart-5': '#57606a',
};

export const DARK_PALETTE: Readonly<Palette> = {
  bg: '#0d1117',
  fg: '#e6edf3',
  muted: '#9198a1',
  panel: '#151b23',
  'row-hover': '#1c2128',
  line: '#30363d',
  'control-line': '#656c76',
  accent: '#4493f8',
  bar: '#010409',
  'bar-fg': '#e6edf3',
  'bar-strong': '#ffffff',
  'bar-hover': '#15181d',
  'bar-active': '#2a2c30',
  live: '#7ee2a8',
  error: '#ff7b72',
  assert: '#d29922',
  feature: '#3fb950',
  blocked: '#bc8cff',
  log: '#9198a1',
  'inverse-muted': '#424a53',
  'danger-bg': '#b62324',
  'danger-fg': '#ffffff',
  'chart-0': '#ff7b72',
  'chart-1': '#58a6ff',
  'chart-2': '#3fb950',
  'chart-3': '#bc8cff',
  'chart-4': '#d29922',
  'chart-5': '#8b949e',
};

const customProperties = (palette: Readonly<Palette>): string =>
  Object.entries(palette)
    .map(([name, value]) => `--${name}: ${value};`)
    .join(' ');

/**
 * The OS's scheme applies unless the header's switch (views/theme.ts) set `<html data-theme>`;
 * `color-scheme` makes form fields and scrollbars follow the same choice.
 */
const THEMES_CSS = `
:root { color-scheme: light dark; ${customProperties(LIGHT_PALETTE)} }
@media (prefers-color-scheme: dark) {
  :root:not([data-theme="light"]) { color-scheme: dark; ${customProperties(DARK_PALETTE)} }
}
:root[data-theme="dark"] { color-scheme: dark; ${customProperties(DARK_PALETTE)} }
:root[data-theme="light"] { color-scheme: light; }
`;

/** The one stylesheet, kept in code so `tsc` ships it in dist/ without a copy step. */
export const DASHBOARD_CSS = `${THEMES_CSS}
:root {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; line-height: 1.45; color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }

/* One row at 1280px wide (with a short email); narrower, the header wraps instead of squeezing its words. */
.topbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; padding: 8px 24px; min-height: 48px;
  background: var(--bar); color: var(--bar-fg); border-bottom: 1px solid var(--line); }
.topbar .brand { color: var(--bar-strong); font-weight: 600; font-size: 15px; }
.topbar nav { display: flex; gap: 2px; flex: 1; }
.topbar nav a { color: var(--bar-fg); padding: 6px 8px; border-radius: 6px; white-space: nowrap; }
.topbar nav a:hover { background: var(--bar-hover); text-decoration: none; }
.topbar nav a.active { background: var(--bar-active); color: var(--bar-strong); }
.topbar .viewer { white-space: nowrap; }
.topbar .viewer a { color: var(--bar-fg); }
.live { font-size: 12px; color: var(--live); }
.topbar button.live { background: transparent; border-color: transparent; padding: 2px 6px; }
.topbar button.live[aria-pressed="false"] { color: var(--bar-fg); border-color: var(--bar-fg); }
.live::before { content: "●"; margin-right: 4px; }

main { max-width: 1280px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; font-weight: 600; word-break: break-word; }
h2 { font-size: 16px; margin: 28px 0 8px; font-weight: 600; }
.lead { color: var(--muted); margin: 0 0 16px; }
/* Links inside running text are underlined: colour alone does not tell them apart (WCAG 1.4.1). */
p a, li a, dd a, .lead a, .empty a, .notice a { text-decoration: underline; }
.lead.message { color: var(--fg); font-size: 15px; word-break: break-word; }
.muted { color: var(--muted); font-weight: normal; }
.crumbs { margin: 0 0 8px; color: var(--muted); }
.nowrap { white-space: nowrap; }

table { width: 100%; border-collapse: collapse; border: 1px solid var(--line); border-radius: 6px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; font-size: 12px; color: var(--muted);
  text-transform: uppercase; letter-spacing: .03em; }
tbody tr:hover { background: var(--row-hover); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.main { max-width: 520px; word-break: break-word; }
table.compact { width: auto; min-width: 50%; }
table.compact td { padding: 3px 8px; font-size: 12.5px; }
.etype { font-weight: 600; }
.emsg { color: var(--fg); }

.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11.5px;
  font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.badge-error { color: var(--error); }
.badge-assert { color: var(--assert); }
.badge-feature { color: var(--feature); }
.badge-blocked { color: var(--blocked); }
.badge-log, .badge-other { color: var(--log); }
.badge-hard { color: var(--error); }
.badge-soft { color: var(--assert); }
.badge-ok { color: var(--feature); }
.badge-pending { color: var(--assert); }
.badge-level-error, .badge-level-fatal { color: var(--error); }
.badge-level-warn { color: var(--assert); }
.badge-level-info, .badge-level-debug { color: var(--log); }
table.timeline tr.source-client td:first-child { border-left: 4px solid var(--feature); }
table.timeline tr.source-server td:first-child { border-left: 4px solid var(--log); }
table.timeline tr.source-server { background: var(--panel); }
table.timeline tr.source-server td.main { padding-left: 32px; }
.source { font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
form.filters label { display: inline-flex; gap: 4px; align-items: center; }
.chip { display: inline-block; margin: 0 4px 2px 0; padding: 0 6px; border-radius: 4px;
  background: var(--panel); border: 1px solid var(--line); font-family: ui-monospace, monospace; font-size: 12px; }

.filters { display: flex; gap: 6px; margin: 0 0 12px; flex-wrap: wrap; }
.filters a { padding: 4px 10px; border: 1px solid var(--line); border-radius: 999px; color: var(--fg); }
.filters a.active { background: var(--fg); color: var(--bg); border-color: var(--fg); }
.filters a.active .muted { color: var(--inverse-muted); }
.filter-bar { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: center; margin: 0 0 14px; padding: 8px 12px;
  border: 1px solid var(--line); border-radius: 6px; background: var(--panel); font-size: 13px; }
.filter-bar label { display: inline-flex; gap: 4px; align-items: center; }
.filter-bar input[type=datetime-local] { font: inherit; padding: 3px 6px; border: 1px solid var(--control-line); border-radius: 6px;
  color: var(--fg); background: var(--bg); }
.filter-bar select { max-width: 14em; }
.topbar form.search { display: flex; gap: 4px; }
.topbar form.search input { font: inherit; padding: 3px 8px; border-radius: 6px; border: 1px solid var(--bar-fg); width: 14em;
  color: var(--fg); background: var(--bg); }
.topbar button.theme { padding: 4px 6px; line-height: 0; color: var(--bar-fg); background: transparent; border-color: transparent; }
.topbar button.theme:hover { background: var(--bar-hover); }
.theme-icon { display: none; }
button.theme[data-choice="system"] .theme-system, button.theme[data-choice="light"] .theme-light,
button.theme[data-choice="dark"] .theme-dark { display: block; }
.search-kind h2 { font-size: 15px; margin: 18px 0 6px; }
.pager { display: flex; gap: 12px; justify-content: flex-end; margin: 12px 0; }
.filter-note { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }

.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 12px; margin: 16px 0; }
.facts div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.facts dt { font-size: 12px; color: var(--muted); }
.facts dd { margin: 2px 0 0; font-weight: 600; word-break: break-word; }
.facts .wide { grid-column: span 2; }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: 6px 20px; margin: 16px 0; }
.fields dt { color: var(--muted); }
.fields dd { margin: 0; word-break: break-word; }

.card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 0 0 12px; }
.card-head { display: flex; flex-wrap: wrap; gap: 6px 16px; color: var(--muted); margin-bottom: 6px; }
.message { word-break: break-word; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
  overflow-x: auto; white-space: pre-wrap; word-break: break-word; margin: 6px 0; }
pre.stack { max-height: 360px; overflow-y: auto; }
details summary { cursor: pointer; color: var(--muted); margin: 6px 0; }
.empty { padding: 40px 24px; text-align: center; color: var(--muted); border: 1px dashed var(--line); border-radius: 6px; }

.badge-status-new { color: var(--accent); }
.badge-status-ongoing { color: var(--log); }
.badge-status-regression { color: var(--error); }
.badge-status-resolved { color: var(--feature); }
.badge-status-ignored { color: var(--muted); }
h1 .badge { vertical-align: middle; font-size: 12px; }
table.frames td { padding: 5px 10px; }
table.frames tr.library td { color: var(--muted); }
table.frames .context { margin-top: 3px; color: var(--muted); white-space: pre-wrap; word-break: break-word; }
.notice { border: 1px solid var(--line); border-left-width: 4px; border-radius: 6px; padding: 8px 14px; margin: 12px 0; background: var(--panel); }
.notice ul { margin: 6px 0; padding-left: 20px; }
.notice li { margin: 4px 0; }
.notice-info { border-left-color: var(--accent); }
.notice-warn { border-left-color: var(--assert); }
form.actions { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 8px 0 4px; }
form.actions p { flex-basis: 100%; margin: 0; }
form.rule-form { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px; align-items: end; }
form.rule-form label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
input[type=text], input[type=password], select { font: inherit; padding: 4px 8px;
  border: 1px solid var(--control-line); border-radius: 6px; color: var(--fg); background: var(--bg); }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--control-line); border-radius: 6px; color: var(--fg);
  background: var(--bg); cursor: pointer; }
button:hover { background: var(--panel); }
.banner-failing { background: var(--danger-bg); color: var(--danger-fg); padding: 10px 24px; font-size: 14px; }
.banner-failing a { color: var(--danger-fg); text-decoration: underline; font-weight: 600; }
.banner-failing .banner-item { margin-right: 6px; }
/* Charts (views/chart.ts): SVG drawn on the server, coloured by class from the palette. */
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.charts { margin: 12px 0 16px; }
table.adoption { margin-bottom: 20px; }
.chart { margin: 0 0 12px; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; color: var(--fg); }
.chart-svg { display: block; width: 100%; height: auto; overflow: visible; }
.chart figcaption { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; font-size: 12.5px; }
.chart-title { font-weight: 600; }
.chart .grid { stroke: currentColor; stroke-opacity: .12; }
.chart .tick { fill: var(--muted); font-size: 11px; }
.chart .line { stroke: currentColor; stroke-width: 2; fill: none; }
.chart .area { fill: currentColor; fill-opacity: .12; stroke: none; }
.chart .point { fill: currentColor; }
.chart .bar { fill: currentColor; fill-opacity: .8; }
.chart .marker line { stroke: currentColor; stroke-dasharray: 4 3; stroke-opacity: .7; }
.chart .marker text { fill: currentColor; font-size: 10.5px; }
.chart .marker-first-seen { color: var(--accent); }
.chart .marker-regression { color: var(--error); }
.legend { display: flex; flex-wrap: wrap; gap: 2px 12px; list-style: none; margin: 0; padding: 0; }
.legend li { display: inline-flex; align-items: center; gap: 4px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; background: currentColor; }
.series-0 { color: var(--chart-0); } .series-1 { color: var(--chart-1); } .series-2 { color: var(--chart-2); }
.series-3 { color: var(--chart-3); } .series-4 { color: var(--chart-4); } .series-5 { color: var(--chart-5); }
.spark { display: block; color: var(--error); }
.spark .line { stroke: currentColor; stroke-width: 1.5; fill: none; }
.spark .point { fill: currentColor; }
.spark .baseline { stroke: currentColor; stroke-opacity: .3; }
td.spark-cell { padding-top: 6px; padding-bottom: 4px; }
meter { width: 80px; vertical-align: middle; }
`;
