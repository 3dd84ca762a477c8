import { LIMITS, type Attributes } from '@telltale/protocol';

/**
 * Server-side privacy scrub, a second line behind the SDK's: an old or hand-written client must not
 * be able to put emails, tokens or card numbers into the store or into alert emails.
 */
const FILTERED = '[Filtered]';

const TEXT_RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}/g, '[token]'], // JWT
  [/\b(bearer|basic)\s+[\w.~+/=-]{8,}/gi, '$1 [token]'],
  [
    /\b((?:api[_-]?key|access[_-]?token|refresh[_-]?token|token|secret|password|passwd|pwd|auth)\s*[=:]\s*)[^\s&,;"']+/gi,
    '$1[Filtered]',
  ],
];

// Bounded like RFC 5321 (local part ≤ 64, labels ≤ 63): unbounded runs made this quadratic on long words.
const EMAIL = /[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/g;

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

// Keys whose values are secret or personal whatever they contain.
const DENIED_KEY =
  /(?:^|[-_.])(?:password|passwd|pwd|secret|token|api_?key|authorization|auth|cookie|credit_?card|card_?number|cvv|ssn|e_?mail)$/i;

function cap(text: string): string {
  return text.length > LIMITS.maxStringLength ? text.slice(0, LIMITS.maxStringLength) : text;
}

export function scrubText(text: string): string {
  let result = text;
  for (const [pattern, replacement] of TEXT_RULES) result = result.replace(pattern, replacement);
  // Most text has no '@': one indexOf spares the email scan over every position.
  if (result.includes('@')) result = result.replace(EMAIL, '[email]');
  result = result.replace(CARD_LIKE, (run) => (luhn(run.replace(/\D/g, '')) ? '[card]' : run));
  return cap(result);
}

/** Stacks keep their shape (the parser needs `file:line:col`), but lose query strings and secrets. */
export function scrubStack(stack: string): string {
  return scrubText(stack.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#)]+)[?#][^\s):]*/gi, '$1'));
}

/** A URL path without query string or fragment. */
export function scrubUrl(url: string): string {
  return cap(url.replace(/[?#].*$/, ''));
}

export function scrubAttributes(attrs: Attributes): Attributes {
  const result: Attributes = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (DENIED_KEY.test(key)) result[key] = FILTERED;
    else result[key] = typeof value === 'string' ? scrubText(value) : value;
  }
  return result;
}
