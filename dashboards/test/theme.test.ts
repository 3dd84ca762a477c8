// The light and dark palettes: every pair of colours the stylesheet puts on top of each other reads
// at WCAG AA in both themes (axe-core checks the pages' text in cli/test/a11y.test.ts; chart strokes
// and fills it cannot see are measured here), and no rule names a colour of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DARK_PALETTE, DASHBOARD_CSS, LIGHT_PALETTE, type Palette } from '../src/views/stylesheet.js';
import { createHarness, type Harness } from './fixtures.js';

/** WCAG 2 relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (match === null) throw new Error(`not a #rrggbb colour: ${hex}`);
  const [r, g, b] = match.slice(1).map((h) => {
    const c = parseInt(h, 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

type Key = keyof Palette;
const KINDS: Key[] = ['error', 'assert', 'feature', 'blocked', 'log'];
/** Text (4.5:1): [text, background] as the stylesheet combines them. */
const TEXT_PAIRS: Array<[Key, Key]> = [
  ...(['fg', 'muted', 'accent', ...KINDS] as Key[]).flatMap((text): Array<[Key, Key]> => [
    [text, 'bg'],
    [text, 'panel'],
    [text, 'row-hover'],
  ]),
  ['bar-fg', 'bar'],
  ['bar-fg', 'bar-hover'],
  ['bar-strong', 'bar'],
  ['bar-strong', 'bar-active'],
  ['live', 'bar'],
  ['bg', 'fg'], // the active filter tab
  ['inverse-muted', 'fg'],
  ['danger-fg', 'danger-bg'],
];
/** Graphics and control borders (3:1, WCAG 1.4.11) against the page. */
const GRAPHICS: Key[] = [
  'chart-0',
  'chart-1',
  'chart-2',
  'chart-3',
  'chart-4',
  'chart-5',
  'accent', // first-seen release markers
  'error', // regression markers, sparklines
  'control-line',
];

describe.each([
  ['light', LIGHT_PALETTE],
  ['dark', DARK_PALETTE],
] as const)('the %s palette', (_name, palette) => {
  it('text reads at 4.5:1 or more on every background it is put on', () => {
    const weak = TEXT_PAIRS.map(([text, back]) => ({
      text,
      back,
      ratio: contrast(palette[text], palette[back]),
    }))
      .filter((p) => p.ratio < 4.5)
      .map((p) => `${p.text} on ${p.back}: ${p.ratio.toFixed(2)}`);
    expect(weak).toEqual([]);
  });

  it('chart series, markers and field borders stand out 3:1 from the page', () => {
    const weak = GRAPHICS.map((key) => ({ key, ratio: contrast(palette[key], palette.bg) }))
      .filter((p) => p.ratio < 3)
      .map((p) => `${p.key}: ${p.ratio.toFixed(2)}`);
    expect(weak).toEqual([]);
  });
});

describe('the stylesheet', () => {
  it('switches to the dark palette with the OS, and with the header switch either way', () => {
    const css = DASHBOARD_CSS.replace(/\s+/g, ' ');
    expect(css).toContain(':root { color-scheme: light dark; --bg: #ffffff;');
    expect(css).toContain(
      '@media (prefers-color-scheme: dark) { :root:not([data-theme="light"]) { color-scheme: dark; --bg: #0d1117;',
    );
    expect(css).toContain(':root[data-theme="dark"] { color-scheme: dark; --bg: #0d1117;');
    expect(css).toContain(':root[data-theme="light"] { color-scheme: light; }');
  });

  it('names no colour outside the palette', () => {
    const rules = DASHBOARD_CSS.slice(DASHBOARD_CSS.indexOf(':root[data-theme="light"]'));
    expect(rules.match(/#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklch|color)\(/gi)).toBeNull();
    const used = new Set([...rules.matchAll(/var\(--([a-z0-9-]+)\)/g)].map((m) => m[1]));
    expect([...used].filter((name) => !(name! in LIGHT_PALETTE))).toEqual([]);
  });
});

describe('the page shell', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('declares both schemes, loads the theme script before the body, and hides the switch until it runs', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/events/shop/e1' });
    expect(res.statusCode).toBe(200);
    const [head, body] = res.body.split('</head>');
    expect(head).toContain('<meta name="color-scheme" content="light dark">');
    expect(head).toContain('<script src="/assets/theme.js"></script>');
    const button =
      /<button type="button" class="theme" hidden data-choice="system" aria-label="Colour theme: follows the system">(.*?)<\/button>/.exec(
        body ?? '',
      );
    expect(button, 'the switch, hidden until its script shows it').not.toBeNull();
    expect(
      [...button![1]!.matchAll(/<svg class="theme-icon theme-([a-z]+)"[^>]*aria-hidden="true"/g)].map(
        (m) => m[1],
      ),
    ).toEqual(['system', 'light', 'dark']);
  });

  it('serves the theme script as JavaScript', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/assets/theme.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.body).toContain('localStorage.setItem(KEY, next)');
  });
});
