import { describe, expect, it } from 'vitest';
import { parseStack } from '@telltale/dispatchers';

// Captured from Chromium (HeadlessChrome 156) loading a page at 127.0.0.1 with a content-hashed bundle.
const CHROME_STACK = `TypeError: Cannot read properties of undefined (reading 'items')
    at renderCart (http://127.0.0.1:35677/assets/app.3f9a2c1b.js:3:15)
    at handleCheckout (http://127.0.0.1:35677/assets/app.3f9a2c1b.js:6:10)
    at Store.dispatch (http://127.0.0.1:35677/assets/app.3f9a2c1b.js:8:36)
    at window.run (http://127.0.0.1:35677/assets/app.3f9a2c1b.js:10:21)
    at eval (eval at evaluate (:370:30), <anonymous>:1:14)
    at UtilityScript.evaluate (<anonymous>:372:16)
    at UtilityScript.<anonymous> (<anonymous>:1:44)`;

const CHROME_LIBRARY_STACK = `TypeError: Cannot read properties of null (reading 'x')
    at inner (http://127.0.0.1:35677/assets/app.3f9a2c1b.js:11:55)
    at mapper (http://127.0.0.1:35677/node_modules/lodash/lodash.min.js?v=4:1:81)
    at Array.map (<anonymous>)
    at libCall (http://127.0.0.1:35677/node_modules/lodash/lodash.min.js?v=4:1:51)
    at window.run (http://127.0.0.1:35677/assets/app.3f9a2c1b.js:11:16)`;

const CHROME_ASYNC_AND_ANONYMOUS = `Error: boom
    at async loadOrders (https://shop.example.com/static/js/main.8d2e1f3a.js:2:1043)
    at new OrderList (https://shop.example.com/static/js/main.8d2e1f3a.js:2:511)
    at https://shop.example.com/static/js/main.8d2e1f3a.js:2:99
    at Object.onClick [as handler] (chrome-extension://abcdefghijklmnop/content.js:1:10)`;

// Firefox (SpiderMonkey) format: name@url:line:col, `/<` for anonymous closures, eval frames.
const FIREFOX_STACK = `renderCart@https://shop.example.com/assets/app.3f9a2c1b.js:3:15
handleCheckout/<@https://shop.example.com/assets/app.3f9a2c1b.js:6:10
promise callback*Store.prototype.dispatch@https://shop.example.com/assets/app.3f9a2c1b.js:8:36
@https://shop.example.com/assets/app.3f9a2c1b.js line 12 > eval:1:1
detectChanges@https://shop.example.com/assets/vendor.d1cae9cfc9917df88de7.js:1:333807
@https://shop.example.com/assets/app.3f9a2c1b.js:24:7
`;

// Safari (JavaScriptCore) uses the same shape, with `global code` and `[native code]` frames.
const SAFARI_STACK = `renderCart@https://shop.example.com/assets/app.3f9a2c1b.js:3:15
forEach@[native code]
global code@https://shop.example.com/assets/app.3f9a2c1b.js:30:1`;

describe('parseStack', () => {
  it('parses a real Chrome stack: functions, files, lines, columns, in-app', () => {
    const frames = parseStack(CHROME_STACK);
    expect(frames).toHaveLength(7);
    expect(frames[0]).toEqual({
      function: 'renderCart',
      file: 'http://127.0.0.1:35677/assets/app.3f9a2c1b.js',
      line: 3,
      column: 15,
      inApp: true,
    });
    expect(frames[2]).toMatchObject({ function: 'Store.dispatch', line: 8, column: 36, inApp: true });
    expect(frames[6]).toMatchObject({
      function: 'UtilityScript.<anonymous>',
      file: '<anonymous>',
      inApp: false,
    });
    expect(frames[4]?.inApp).toBe(false);
  });

  it('marks node_modules and native frames as library code', () => {
    const frames = parseStack(CHROME_LIBRARY_STACK);
    expect(frames.map((f) => [f.function, f.inApp])).toEqual([
      ['inner', true],
      ['mapper', false],
      ['Array.map', false],
      ['libCall', false],
      ['window.run', true],
    ]);
    expect(frames[1]?.file).toBe('http://127.0.0.1:35677/node_modules/lodash/lodash.min.js?v=4');
  });

  it('handles async, constructor, anonymous and extension frames', () => {
    const frames = parseStack(CHROME_ASYNC_AND_ANONYMOUS);
    expect(frames.map((f) => f.function)).toEqual(['loadOrders', 'OrderList', undefined, 'Object.onClick']);
    expect(frames[2]).toMatchObject({
      file: 'https://shop.example.com/static/js/main.8d2e1f3a.js',
      line: 2,
      column: 99,
      inApp: true,
    });
    expect(frames[3]?.inApp).toBe(false);
  });

  it('parses Firefox frames, closures and eval', () => {
    const frames = parseStack(FIREFOX_STACK);
    expect(frames.map((f) => f.function)).toEqual([
      'renderCart',
      'handleCheckout',
      'Store.prototype.dispatch',
      undefined,
      'detectChanges',
      undefined,
    ]);
    expect(frames[0]).toEqual({
      function: 'renderCart',
      file: 'https://shop.example.com/assets/app.3f9a2c1b.js',
      line: 3,
      column: 15,
      inApp: true,
    });
    expect(frames[3]).toMatchObject({ file: 'https://shop.example.com/assets/app.3f9a2c1b.js', line: 12 });
    expect(frames[4]?.inApp).toBe(false); // vendor chunk
    expect(frames[5]).toMatchObject({ line: 24, column: 7, inApp: true });
  });

  it('parses Safari frames including native code', () => {
    const frames = parseStack(SAFARI_STACK);
    expect(frames.map((f) => [f.function, f.inApp])).toEqual([
      ['renderCart', true],
      ['forEach', false],
      [undefined, true],
    ]);
  });

  it('does not take an email address in a message for a frame, and survives garbage', () => {
    expect(parseStack('Error: user anna@example.com not found')).toEqual([]);
    expect(parseStack('')).toEqual([]);
    expect(parseStack(undefined)).toEqual([]);
    expect(parseStack('just some text\nwithout frames')).toEqual([]);
  });
});
