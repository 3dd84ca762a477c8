import { describe, expect, it } from 'vitest';
import { MAX_ATTRIBUTES, MAX_STRING, scrub, scrubAttributes, scrubJson } from '../src/core/scrub.js';

describe('scrub', () => {
  it('replaces emails', () => {
    expect(scrub('user jane.doe+test@example.co.uk not found')).toBe('user [filtered] not found');
    expect(scrub('Jane.Doe@Example.COM')).toBe('[filtered]');
  });

  it('keeps Firefox/Safari stack frames (fn@url) intact', () => {
    const frame = 'checkout@https://shop.example.com/app.js:10:5';
    expect(scrub(frame)).toBe(frame);
  });

  it('replaces bearer tokens and JWTs', () => {
    expect(scrub('Authorization: Bearer abc.DEF-123_xyz==')).toBe('Authorization: [filtered]');
    const jwt =
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    expect(scrub(`token ${jwt} expired`)).toBe('token [filtered] expired');
  });

  it('replaces card numbers and other runs of 12+ digits, keeps short numbers', () => {
    expect(scrub('card 4111 1111 1111 1111 declined')).toBe('card [filtered] declined');
    expect(scrub('card 4111-1111-1111-1111')).toBe('card [filtered]');
    expect(scrub('account 123456789012')).toBe('account [filtered]');
    expect(scrub('order 12345678901 of 3')).toBe('order 12345678901 of 3');
  });

  it('strips query strings and fragments from URLs, keeping line:col of stack frames', () => {
    expect(scrub('GET https://api.example.com/v1/users?id=42&name=jane failed')).toBe(
      'GET https://api.example.com/v1/users failed',
    );
    expect(scrub('at load (https://cdn.example.com/app.js?v=123:10:5)')).toBe(
      'at load (https://cdn.example.com/app.js:10:5)',
    );
    expect(scrub('see /docs/page#section-2 now')).toBe('see /docs/page now');
    expect(scrub('item #42 is missing?')).toBe('item #42 is missing?');
  });

  it('caps every string at 1 KB', () => {
    expect(scrub('x'.repeat(5000))).toHaveLength(MAX_STRING);
    expect(scrub('y'.repeat(500), 200)).toHaveLength(200);
  });

  it('scrubs free-form state (bug reports) at any depth', () => {
    const state = {
      cart: { owner: 'jane@example.com', items: [{ sku: 'A1', note: 'call 4111 1111 1111 1111' }] },
      authToken: 'abc',
    };
    expect(JSON.parse(JSON.stringify(state, scrubJson))).toEqual({
      cart: { owner: '[filtered]', items: [{ sku: 'A1', note: 'call [filtered]' }] },
      authToken: '[filtered]',
    });
  });
});

describe('scrubAttributes', () => {
  it('redacts deny-listed keys whatever their value', () => {
    expect(
      scrubAttributes({
        password: 'hunter2',
        apiKey: 'k',
        authToken: 'abc',
        userEmail: 'a@b.co',
        Authorization: 'x',
        items: 3,
      }),
    ).toEqual({
      password: '[filtered]',
      apiKey: '[filtered]',
      authToken: '[filtered]',
      userEmail: '[filtered]',
      Authorization: '[filtered]',
      items: 3,
    });
  });

  it('keeps scalars only and scrubs strings', () => {
    expect(
      scrubAttributes({
        n: 1,
        ok: true,
        none: null,
        s: 'mail me: a@b.co',
        nested: { a: 1 },
        list: [1],
        fn: () => 1,
        inf: Infinity,
      }),
    ).toEqual({ n: 1, ok: true, none: null, s: 'mail me: [filtered]', inf: Infinity });
    // non-finite numbers become null on the wire
    expect(JSON.parse(JSON.stringify(scrubAttributes({ inf: Infinity, nan: NaN })))).toEqual({
      inf: null,
      nan: null,
    });
  });

  it('keeps at most 32 keys', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(scrubAttributes(many)!)).toHaveLength(MAX_ATTRIBUTES);
  });

  it('gives undefined for nothing usable', () => {
    expect(scrubAttributes(undefined)).toBeUndefined();
    expect(scrubAttributes('text')).toBeUndefined();
    expect(scrubAttributes({ a: {} })).toBeUndefined();
  });
});
