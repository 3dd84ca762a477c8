import type { Attributes } from './types.js';

/** Longest string the SDK sends; far below the protocol's 8 KB, because we want ids and counts, not prose. */
export const MAX_STRING = 1024;
/** Longest name, key or id (the protocol's maxIdLength). */
export const MAX_ID = 200;
/** Most keys kept in one vars / props map (the protocol's maxAttributes). */
export const MAX_ATTRIBUTES = 32;

/**
 * Secrets replaced by `[filtered]`, in one pass (at each position the first alternative that matches
 * wins, so a JWT or an email is replaced whole before its digits could be): bearer tokens, JWTs,
 * emails (local part bounded like RFC 5321, so a long word costs linear time), and runs of 12+ digits (card numbers).
 */
const SECRETS = /bearer\s+\S+|eyJ[\w.-]+|[\w.+-]{1,64}@[\w-]+\.[\w.-]+|\d(?:[ -]?\d){11,}/gi;
/** Query strings and fragments after a path, keeping `:line:col` of stack frames. */
// Quadratic only on a run of `/` with no `?`, over at most 2 KB (scrub cuts first); the linear form costs a byte.
// eslint-disable-next-line regexp/no-super-linear-move, regexp/optimal-lookaround-quantifier
const QUERY = /(\/[^\s?#'"()]*)[?#][^\s'"()]*?(?=:\d+:\d+|[\s'"()]|$)/g;

// Keys whose values are secrets whatever they look like: passwords, tokens, emails, auth headers, cards.
const DENY = /passw|pwd|token|secret|e-?mail|auth|cookie|cvv|api.?key|credit/i;

/** Removes what must never leave the page (secrets, query strings) and caps the length. */
export function scrub(value: string, max = MAX_STRING): string {
  return String(value)
    .slice(0, max * 2)
    .replace(SECRETS, '[filtered]')
    .replace(QUERY, '$1')
    .slice(0, max);
}

/** A JSON.stringify replacer for free-form state (bug reports): deny-listed keys filtered, every string scrubbed. */
export function scrubJson(key: string, value: unknown): unknown {
  return DENY.test(key) ? '[filtered]' : typeof value == 'string' ? scrub(value) : value;
}

/** Scalars only, at most 32 keys, deny-listed keys redacted, strings scrubbed; undefined when nothing is left. */
export function scrubAttributes(input: unknown): Attributes | undefined {
  let out: Attributes | undefined;
  let n = 0;
  if (typeof input == 'object')
    for (const k in input) {
      const v = (input as Record<string, unknown>)[k];
      const t = typeof v;
      // `typeof` names of the scalars we keep (no nested objects: those hold content, not counts)
      if (n < MAX_ATTRIBUTES && (v === null || 'string number boolean'.includes(t))) {
        n++;
        (out ||= {})[k.slice(0, MAX_ID)] = DENY.test(k)
          ? '[filtered]'
          : t == 'string'
            ? scrub(v as string)
            : (v as Attributes[string]);
      }
    }
  return out;
}
