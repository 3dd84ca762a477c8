import { LIMITS } from '../limits.js';
import type { Attributes } from '../schema.js';
import { isDeniedKey, isDeniedTextKey } from './deny-list.js';

/**
 * Server-side privacy scrub, a second line behind the SDK's and at least as strong: an old or
 * hand-written client, or a server log, must not be able to put emails, tokens, card numbers or
 * query strings into the store or into alert emails. Every pattern here runs in linear time on any
 * input (checked by eslint-plugin-regexp and dispatchers/test/adversarial.test.ts), and text is cut
 * to twice the protocol's cap before any pattern sees it.
 */
const FILTERED = '[Filtered]';
const MAX = LIMITS.maxStringLength;
// Scrubbed with some slack so a secret that straddles the final cap is still recognised whole.
const MAX_SCANNED = MAX * 2;
// Deeper JSON than this is content, not diagnostics: replaced whole.
const MAX_JSON_DEPTH = 16;

// A `?` or `#` right after a path or URL starts a query string or fragment. The lookbehind comes after
// the `[?#]`, so it runs only there, and stops at the segment's `/`: each `?` costs its segment's length.
const QUERY = /[?#](?<=\/[^\s?#'"()<>/]*.)[^\s'"()<>]*/g;

// `key=value`, `key: value`, `"key":"value"`, `'key': 'value'`, `\"key\":\"value\"` (JSON inside a
// string): the value is filtered when the key is deny-listed. The key starts a token (lookbehind),
// so a long word is scanned once, not once per character.
const KEY_VALUE =
  /(?<![\w./\\-])((?:\\?["'])?)([a-z][\w.-]{0,63})\1\s{0,8}[:=]\s{0,8}((?:bearer|basic)\s+)?(\\?"[^"]*"?|\\?'[^']*'?|[^\s&,;"'})\]]+)/gi;

// Known token shapes, each anchored on a distinctive prefix; one character class after it, so a
// long near-miss fails in one step.
const TOKENS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(bearer)\s+[\w.~+/=-]+/gi, '$1 [token]'], // any length, as the SDK does
  [/\b(basic)\s+[\w.~+/=-]{8,}/gi, '$1 [token]'], // 8+: "Basic auth" is prose
  [/\beyJ[\w.-]{8,}/g, '[token]'], // JWT, JWS, JWE: base64url of `{"`
  [/\b[rs]k_(?:live|test)_[\dA-Za-z]{8,}/g, '[token]'], // Stripe secret and restricted keys
  [/\b(?:AKIA|ASIA)[\dA-Z]{16}\b/g, '[token]'], // AWS access key ids
  [/\b(?:gh[opsru]_[\dA-Za-z]{20,}|github_pat_\w{20,})/g, '[token]'], // GitHub tokens
  [/\bxox[abpors]-[\w-]{10,}/g, '[token]'], // Slack tokens
];

// Bounded like RFC 5321 (local part ≤ 64, labels ≤ 63): unbounded runs made this quadratic on long words.
// `%40` is a URL-encoded `@` (`alice%40example.com` in a path or a logged query).
const EMAIL = /[\w.+%-]{1,64}(?:@|%40)[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[a-z]{2,24}\b/gi;

// 13-19 digits that pass the Luhn check: card numbers, not timestamps or ids.
const CARD_LIKE = /\b(?:\d[ -]?){12,18}\d\b/g;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function cap(text: string, max: number = MAX): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** `:10:5` at the end of a dropped query is a stack frame's line and column: kept. */
function keepLocation(query: string): string {
  let i = query.length;
  let colons = 0;
  let digits = 0;
  while (i > 0 && colons < 2) {
    const c = query.charCodeAt(i - 1);
    if (c >= 48 && c <= 57) digits += 1;
    else if (c === 58 && digits > 0) {
      colons += 1;
      digits = 0;
    } else break;
    i -= 1;
  }
  return colons === 2 ? query.slice(i) : '';
}

function quoted(value: string): string {
  const open = value.startsWith('\\') ? value.slice(0, 2) : value.slice(0, 1);
  return open === '"' || open === "'" || open === '\\"' || open === "\\'" ? open + FILTERED + open : FILTERED;
}

// A stack frame's `token.js:10:5` is a file and a line, not a key and a secret.
const FILE_LOCATION = /\.(?:[cm]?[jt]sx?|map|html?|bundle|vue|svelte)$/i;

function filterKeyValue(
  match: string,
  _q: string,
  key: string,
  scheme: string | undefined,
  value: string,
): string {
  if (!isDeniedTextKey(key)) return match;
  if (FILE_LOCATION.test(key) && /^\d+(?::\d+)?$/.test(value)) return match;
  return match.slice(0, match.length - value.length - (scheme?.length ?? 0)) + quoted(value);
}

function replaceEmails(text: string, keepFrames: boolean): string {
  if (!text.includes('@') && !text.includes('%40')) return text; // most text has neither: skip the scan
  return text.replace(EMAIL, (email: string, offset: number, whole: string) =>
    // `fn@app.js:10:5` is a Firefox/Safari frame, not an address.
    keepFrames && whole[offset + email.length] === ':' && /\d/.test(whole[offset + email.length + 1] ?? '')
      ? email
      : '[email]',
  );
}

function scrub(text: string, keepFrames: boolean): string {
  let result = cap(text, MAX_SCANNED);
  result = result.replace(QUERY, keepLocation);
  result = result.replace(KEY_VALUE, filterKeyValue);
  for (const [pattern, replacement] of TOKENS) result = result.replace(pattern, replacement);
  result = replaceEmails(result, keepFrames);
  result = result.replace(CARD_LIKE, (run) => (luhn(run.replace(/\D/g, '')) ? '[card]' : run));
  return cap(result);
}

/** Free text (messages, breadcrumbs, log lines, attribute values): secrets, emails, cards and query strings out, capped. */
export function scrubText(text: string): string {
  return scrub(text, false);
}

/** Stacks keep their shape (the parser needs `file:line:col`), but lose query strings and secrets. */
export function scrubStack(stack: string): string {
  return scrub(stack, true);
}

/** A URL path without query string or fragment, and without emails or tokens in its segments. */
export function scrubUrl(url: string): string {
  const cut = url.search(/[?#]/);
  return scrubText(cut < 0 ? url : url.slice(0, cut));
}

/** A short identifier (a key, a name, a category): scrubbed like text, capped like an id. */
export function scrubId(id: string): string {
  return cap(scrubText(id), LIMITS.maxIdLength);
}

export function scrubAttributes(attrs: Attributes): Attributes {
  const result: Attributes = {};
  for (const [key, value] of Object.entries(attrs)) {
    const safeKey = scrubId(key);
    if (isDeniedKey(key)) result[safeKey] = FILTERED;
    else result[safeKey] = typeof value === 'string' ? scrubText(value) : value;
  }
  return result;
}

/**
 * Any JSON value (a raw batch, a dead letter, an archived copy): every string scrubbed, every
 * deny-listed key's value filtered, keys scrubbed; deeper than 16 levels is replaced whole.
 */
export function scrubJsonValue(value: unknown): unknown {
  return scrubJsonAt(value, 0);
}

function scrubJsonAt(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_JSON_DEPTH) return FILTERED;
  if (Array.isArray(value)) return value.map((item) => scrubJsonAt(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>))
    result[scrubId(key)] = isDeniedKey(key) ? FILTERED : scrubJsonAt(item, depth + 1);
  return result;
}
