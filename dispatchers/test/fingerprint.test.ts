import { describe, expect, it } from 'vitest';
import { fingerprintError, normaliseFilePath, normaliseMessage } from '@telltale/dispatchers';

const stackAt = (
  file: string,
  lines: [number, number, number],
) => `TypeError: Cannot read properties of undefined (reading 'items')
    at renderCart (${file}:${lines[0]}:15)
    at handleCheckout (${file}:${lines[1]}:10)
    at Store.dispatch (${file}:${lines[2]}:36)
    at onClick (${file}:90:3)`;

describe('fingerprintError', () => {
  it('returns 32 hex characters', () => {
    expect(fingerprintError({ type: 'Error', message: 'x' })).toMatch(/^[0-9a-f]{32}$/);
  });

  it('groups the same bug across line numbers, content hashes, hosts and query strings', () => {
    const a = fingerprintError({
      type: 'TypeError',
      message: 'a',
      stack: stackAt('https://shop.example.com/assets/app.3f9a2c1b.js', [3, 6, 8]),
    });
    const b = fingerprintError({
      type: 'TypeError',
      message: 'b',
      stack: stackAt('https://cdn.example.net/assets/app.9e8d7c6b.js?v=2', [40, 61, 80]),
    });
    const c = fingerprintError({
      type: 'TypeError',
      message: 'c',
      stack: stackAt('https://shop.example.com/assets/app-BXdJ2kqK.js', [1, 1, 1]),
    });
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('groups a Chrome and a Firefox stack of the same call site', () => {
    const chrome = fingerprintError({
      type: 'TypeError',
      message: 'x',
      stack: stackAt('https://shop.example.com/assets/app.3f9a2c1b.js', [3, 6, 8]),
    });
    const firefox = fingerprintError({
      type: 'TypeError',
      message: 'y',
      stack:
        'renderCart@https://shop.example.com/assets/app.11aa22bb.js:3:15\nhandleCheckout@https://shop.example.com/assets/app.11aa22bb.js:6:10\nStore.dispatch@https://shop.example.com/assets/app.11aa22bb.js:8:36\n',
    });
    expect(firefox).toBe(chrome);
  });

  it('separates different functions, files and error types', () => {
    const base = fingerprintError({
      type: 'TypeError',
      message: 'x',
      stack: stackAt('https://a.example/app.js', [1, 2, 3]),
    });
    const otherFn = fingerprintError({
      type: 'TypeError',
      message: 'x',
      stack: stackAt('https://a.example/app.js', [1, 2, 3]).replace('renderCart', 'renderTotal'),
    });
    const otherFile = fingerprintError({
      type: 'TypeError',
      message: 'x',
      stack: stackAt('https://a.example/admin.js', [1, 2, 3]),
    });
    const otherType = fingerprintError({
      type: 'RangeError',
      message: 'x',
      stack: stackAt('https://a.example/app.js', [1, 2, 3]),
    });
    expect(new Set([base, otherFn, otherFile, otherType]).size).toBe(4);
  });

  it('ignores library frames above the app code', () => {
    const lib = `TypeError: x
    at mapper (https://a.example/node_modules/lodash/lodash.js:1:81)
    at renderCart (https://a.example/app.js:3:15)
    at handleCheckout (https://a.example/app.js:6:10)
    at Store.dispatch (https://a.example/app.js:8:36)`;
    const app = `TypeError: x
    at renderCart (https://a.example/app.js:30:15)
    at handleCheckout (https://a.example/app.js:60:10)
    at Store.dispatch (https://a.example/app.js:80:36)`;
    expect(fingerprintError({ type: 'TypeError', message: '', stack: lib })).toBe(
      fingerprintError({ type: 'TypeError', message: '', stack: app }),
    );
  });

  it('falls back to the message with numbers, ids and values replaced', () => {
    const a = fingerprintError({
      type: 'Error',
      message:
        'Order 1234 failed for user 3f1e9a0c-1b2d-4c3e-8f00-aa11bb22cc33 (anna@example.com) at https://api.example.com/orders/1234',
    });
    const b = fingerprintError({
      type: 'Error',
      message:
        'Order 98 failed for user 0b7c3d2e-9f8a-4b6c-a1d2-e3f4a5b6c7d8 (bob@example.org) at https://api.example.com/orders/98',
    });
    const other = fingerprintError({ type: 'Error', message: 'Order 98 was cancelled' });
    expect(b).toBe(a);
    expect(other).not.toBe(a);
    expect(normaliseMessage(`Unexpected token '<' in JSON at position 0x1f and 42, id deadbeef01`)).toBe(
      'Unexpected token <str> in JSON at position <hex> and <num>, id <hex>',
    );
  });

  it('uses the app-provided fingerprint, whatever the stack', () => {
    const a = fingerprintError({
      type: 'Error',
      message: 'a',
      stack: stackAt('https://a.example/app.js', [1, 2, 3]),
      fingerprint: 'checkout-timeout',
    });
    const b = fingerprintError({ type: 'TypeError', message: 'b', fingerprint: 'checkout-timeout' });
    expect(b).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('normaliseFilePath', () => {
  it('removes origin, query, fragment and content hashes but keeps real names', () => {
    expect(normaliseFilePath('https://shop.example.com/assets/app.3f9a2c1b.js?v=3#x')).toBe('/assets/app.js');
    expect(normaliseFilePath('https://shop.example.com/assets/chunk-ABCD1234.js')).toBe('/assets/chunk.js');
    expect(normaliseFilePath('https://shop.example.com/static/js/main.4a4119c3cdfd10266d84.js')).toBe(
      '/static/js/main.js',
    );
    expect(normaliseFilePath('https://shop.example.com/app.component.js')).toBe('/app.component.js');
    expect(normaliseFilePath('webpack://shop/src/cart/render-cart.ts')).toBe('/src/cart/render-cart.ts');
  });
});
