/**
 * Keys whose values are secret or personal whatever they contain. A key is split into words
 * (camelCase, snake_case, kebab-case, dotted: `accessToken`, `db_password`, `x-api-key`,
 * `user.email`); it is denied when one word, or two adjacent words, are on the lists below.
 * Documented in docs/security.md.
 */
const DENIED_WORDS = new Set([
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'auth',
  'authorization',
  'credential',
  'credentials',
  'cookie',
  'apikey',
  'cardnumber',
  'creditcard',
  'cvv',
  'cvc',
  'ssn',
  'email',
  'otp',
  // A server session id is a bearer credential; Telltale's own session travels in the batch header.
  'sessionid',
  'jsessionid',
  'phpsessid',
  'sessid',
]);
const DENIED_PAIRS = new Set([
  'api key',
  'access key',
  'private key',
  'secret key',
  'session id',
  'session key',
  'card number',
  'credit card',
  'e mail',
]);

// The SDK's own list (browser-sdk/src/core/scrub.ts), substrings as there: the server never keeps what
// the SDK would have filtered. Used for attribute and JSON keys, not for `key=` in prose ("author: …").
const SDK_DENY = /passw|pwd|token|secret|e-?mail|auth|cookie|cvv|api.?key|credit/i;

const MAX_KEY = 200;

function isUpper(c: string): boolean {
  return c >= 'A' && c <= 'Z';
}
function isLower(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/** `xApiKey` → `x api key`; `APIKey` → `api key`; `db_password` → `db password`. */
export function keyWords(key: string): string[] {
  const text = key.slice(0, MAX_KEY);
  const words: string[] = [];
  let word = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] ?? '';
    if (!isUpper(c) && !isLower(c)) {
      if (word !== '') words.push(word);
      word = '';
      continue;
    }
    const prev = text[i - 1] ?? '';
    const next = text[i + 1] ?? '';
    // A word starts at a capital after a lower-case letter, or at the last capital of a run (`APIKey`).
    if (word !== '' && isUpper(c) && (isLower(prev) || (isUpper(prev) && next >= 'a' && next <= 'z'))) {
      words.push(word);
      word = '';
    }
    word += c.toLowerCase();
  }
  if (word !== '') words.push(word);
  return words;
}

/** For `key=value` in free text: word matches only, so prose such as `author: Jane` is left alone. */
export function isDeniedTextKey(key: string): boolean {
  const words = keyWords(key);
  for (let i = 0; i < words.length; i += 1) {
    if (DENIED_WORDS.has(words[i] ?? '')) return true;
    if (i > 0 && DENIED_PAIRS.has(`${words[i - 1]} ${words[i]}`)) return true;
  }
  return false;
}

/** For attribute and JSON keys: the word lists and the SDK's substrings. */
export function isDeniedKey(key: string): boolean {
  return SDK_DENY.test(key.slice(0, MAX_KEY)) || isDeniedTextKey(key);
}
