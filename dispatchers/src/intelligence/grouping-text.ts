import { LIMITS } from '@telltale/protocol';

/**
 * The message as the scrubber before issue 9 left it, for grouping only (it is hashed, never
 * stored): a stronger scrubber must not move existing error groups, or every group whose message
 * holds a query string or a new token shape would alert again as "new". Same rules as then, each
 * rewritten to run in linear time.
 */
const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(bearer|basic)\s+[\w.~+/=-]{8,}/gi, '$1 [token]'],
  [
    /\b((?:api[_-]?key|access[_-]?token|refresh[_-]?token|token|secret|password|passwd|pwd|auth)\s*[=:]\s*)[^\s&,;"']+/gi,
    '$1[Filtered]',
  ],
];
const EMAIL = /[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/g;
const CARD_LIKE = /\b(?:\d[ -]?){12,18}\d\b/g;
const JWT_START = /\beyJ/g;
const WORD_RUN = /[\w-]*/y;

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

/** The end of the `[\w-]` run that starts at `from`. */
function runEnd(text: string, from: number): number {
  WORD_RUN.lastIndex = from;
  WORD_RUN.exec(text);
  return WORD_RUN.lastIndex;
}

/**
 * `/\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}/g` → `[token]`, without its quadratic backtracking: each
 * segment is a whole `[\w-]` run, so when the first candidate in a run fails, every later one in the
 * same run fails the same way and is skipped.
 */
function replaceJwts(text: string): string {
  let out = '';
  let copied = 0;
  let skipBefore = 0;
  for (const match of text.matchAll(JWT_START)) {
    const start = match.index;
    if (start < skipBefore) continue;
    const e1 = runEnd(text, start + 3);
    skipBefore = e1;
    if (e1 - (start + 3) < 5 || text[e1] !== '.') continue;
    const e2 = runEnd(text, e1 + 1);
    if (e2 - (e1 + 1) < 5 || text[e2] !== '.') continue;
    const e3 = runEnd(text, e2 + 1);
    if (e3 - (e2 + 1) < 5) continue;
    out += `${text.slice(copied, start)}[token]`;
    copied = e3;
    skipBefore = e3;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

export function groupingText(message: string): string {
  let result = replaceJwts(message.slice(0, LIMITS.maxStringLength * 2));
  for (const [pattern, replacement] of RULES) result = result.replace(pattern, replacement);
  if (result.includes('@')) result = result.replace(EMAIL, '[email]');
  result = result.replace(CARD_LIKE, (run) => (luhn(run.replace(/\D/g, '')) ? '[card]' : run));
  return result.length > LIMITS.maxStringLength ? result.slice(0, LIMITS.maxStringLength) : result;
}
