import type { Attributes } from './types.js';

/** Longest string the SDK sends; far below the protocol's 8 KB, because we want ids and counts, not prose. */
export const MAX_STRING = 1024;
/** Longest name, key or id (the protocol's maxIdLength). */
export const MAX_ID = 200;
/** Most keys kept in one vars / props map (the protocol's maxAttributes). */
export const MAX_ATTRIBUTES = 32;

// Order matters: tokens before digit runs, so a JWT is replaced whole.
const RULES: Array<[RegExp, string]> = [
  [/\bbearer\s+[\w.~+/-]+=*/gi, 'Bearer [token]'],
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[jwt]'],
  [/[\w.+-]+@[a-z\d-]+(\.[a-z\d-]+)*\.[a-z]{2,}/gi, '[email]'],
  // Query strings and fragments after a path, keeping `:line:col` of stack frames.
  [/(\/[^\s?#'"()]*)[?#][^\s'"()]*?(?=:\d+:\d+|[\s'"()]|$)/g, '$1'],
  [/\d(?:[ -]?\d){11,}/g, '[number]'],
];

const DENY = /passw|pwd|token|secret|e-?mail|authori[sz]ation|cookie|cvv|api.?key|credit.?card/i;

/** Removes what must never leave the page (emails, tokens, card-like numbers, query strings) and caps the length. */
export function scrub(value: string, max = MAX_STRING): string {
  let s = String(value).slice(0, max * 2);
  for (const [re, to] of RULES) s = s.replace(re, to);
  return s.slice(0, max);
}

/** The path of a URL: no origin, no query string, no fragment. */
export function urlPath(url: string): string {
  return scrub(url.replace(/^[a-z][\w+.-]*:\/\/[^/]*/i, '').split(/[?#]/)[0] || '/');
}

/** Scalars only, at most 32 keys, deny-listed keys redacted, strings scrubbed; undefined when nothing is left. */
export function scrubAttributes(input: unknown): Attributes | undefined {
  if (!input || typeof input != 'object') return;
  const out: Attributes = {};
  let n = 0;
  for (const key of Object.keys(input)) {
    const v = (input as Record<string, unknown>)[key];
    const t = typeof v;
    if (n >= MAX_ATTRIBUTES) break;
    if (v !== null && t != 'string' && t != 'number' && t != 'boolean') continue;
    out[key.slice(0, MAX_ID)] = DENY.test(key)
      ? '[filtered]'
      : t == 'string'
        ? scrub(v as string)
        : t == 'number' && !isFinite(v as number)
          ? null
          : (v as Attributes[string]);
    n++;
  }
  return n ? out : undefined;
}
