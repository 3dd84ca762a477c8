/**
 * `npm run bench:sdk`: main-thread time of the browser SDK in headless Chromium (Debian's), against
 * an empty function called the same way (a property of the global object) in the same page.
 *
 * Each round is a fresh browser context (empty storage, so the rate limit never cuts in) loading a
 * page with dist/telltale.min.js. In it: `captureError` of 30 distinct errors (each the full path:
 * describe, scrub, rate limit, queue, IndexedDB write) in blocks of 10, `track` likewise, then a
 * page-hide flush of the 60 queued events (seal, IndexedDB write, JSON, keepalive request). Every
 * timed block ends after a few microtask turns, so the SDK's deferred IndexedDB write is counted.
 * Medians are over all blocks of all rounds; the first call of a page (cold code, regex compilation,
 * IndexedDB transaction) is reported apart, and so is a bare fetch() of a body of the flush's size,
 * which is most of the flush. The page is cross-origin isolated, for 5 µs timers. Progress goes to
 * stderr; the last stdout line is the JSON result.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const ROUNDS = 30;
const BLOCK = 10;
const BLOCKS = 3;
const EMPTY_CALLS = 10_000;

// Runs in the page: per-call times in ms. (A string: tsx's helpers must not leak into the page.)
const IN_PAGE = `
window.noop = function (x) { return x; };
window.settle = async function () { for (let i = 0; i < 5; i++) await 0; };
window.bench = async function (block, blocks, emptyCalls) {
  const T = window.Telltale, now = () => performance.now(), out = { capture: [], track: [] };
  let n = 0, t = now();
  for (let i = 0; i < emptyCalls; i++) window.noop(i);
  await window.settle();
  out.baseline = (now() - t) / emptyCalls;
  t = now();
  T.captureError(new Error('the first error of the page'));
  await window.settle();
  out.first = now() - t;
  for (let b = 0; b < blocks; b++) {
    const errors = [];
    for (let i = 0; i < block; i++) errors.push(new Error('benchmark error number ' + n++));
    t = now();
    for (let i = 0; i < block; i++) T.captureError(errors[i]);
    await window.settle();
    out.capture.push((now() - t) / block);
    t = now();
    for (let i = 0; i < block; i++) T.track('feature-' + n++, { rows: i });
    await window.settle();
    out.track.push((now() - t) / block);
  }
  t = now();
  window.dispatchEvent(new PageTransitionEvent('pagehide'));
  await window.settle();
  out.flush = now() - t;
  // The browser's own cost of what the flush ends with: a keepalive fetch of a body that size.
  const body = JSON.stringify(Array.from({ length: 1 + block * blocks * 2 }, (_, i) =>
    ({ id: String(i).padStart(32, '0'), kind: 'error', message: 'benchmark error number ' + i, stack: new Error('x').stack })));
  t = now();
  fetch('/v1/reference', { method: 'POST', body, keepalive: true }).catch(() => {});
  await window.settle();
  out.fetch = now() - t;
  out.isolated = crossOriginIsolated;
  return out;
};`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script src="/sdk.js"></script><script src="/bench.js"></script>
<script src="/init.js"></script></head><body>bench</body></html>`;
const INIT = `Telltale.init({ endpoint: '', key: 'bench', release: 'bench', environment: 'bench' });`;

interface Sample {
  baseline: number;
  first: number;
  capture: number[];
  track: number[];
  flush: number;
  fetch: number;
  isolated: boolean;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const sdk = await readFile(new URL('../browser-sdk/dist/telltale.min.js', import.meta.url));
  let batches = 0;
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/')) {
      if (req.url.startsWith('/v1/batch')) batches++;
      req.resume();
      req.on('end', () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}'));
      return;
    }
    const files: Record<string, [string, string | Buffer]> = {
      '/': ['text/html', PAGE],
      '/sdk.js': ['text/javascript', sdk],
      '/bench.js': ['text/javascript', IN_PAGE],
      '/init.js': ['text/javascript', INIT],
    };
    const file = files[req.url ?? ''];
    if (!file) return void res.writeHead(404).end();
    // Cross-origin isolation: performance.now() at 5 µs instead of 100 µs.
    res
      .writeHead(200, {
        'content-type': file[0],
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      })
      .end(file[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  const all: Sample[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      const r = await page.evaluate(
        ([block, blocks, empty]) =>
          (window as unknown as { bench(a: number, b: number, c: number): Promise<Sample> }).bench(
            block!,
            blocks!,
            empty!,
          ),
        [BLOCK, BLOCKS, EMPTY_CALLS],
      );
      all.push(r);
      await context.close();
      const f = (ms: number) => `${round(ms * 1000, 1)} µs`;
      process.stderr.write(
        `round ${i + 1}/${ROUNDS}: first captureError ${f(r.first)}, captureError ${f(median(r.capture))}, track ${f(median(r.track))}, page-hide flush ${f(r.flush)} (bare fetch ${f(r.fetch)})\n`,
      );
    }
  } finally {
    await browser.close();
    server.close();
  }
  const us = (ms: number[]) => median(ms) * 1000;
  const baseline = us(all.map((r) => r.baseline));
  const capture = us(all.flatMap((r) => r.capture));
  const track = us(all.flatMap((r) => r.track));
  const flush = us(all.map((r) => r.flush));
  const result = {
    bench: 'sdk',
    capture_error_us: round(capture, 1),
    track_us: round(track, 1),
    flush_us: round(flush, 1),
    baseline_us: round(baseline, 4),
    ratio_capture: Math.round(capture / baseline),
    ratio_track: Math.round(track / baseline),
    ratio_flush: Math.round(flush / baseline),
    first_capture_error_us: round(us(all.map((r) => r.first)), 1),
    bare_fetch_us: round(us(all.map((r) => r.fetch)), 1),
    events_per_flush: BLOCK * BLOCKS * 2 + 1,
    rounds: ROUNDS,
    timer_us: all.every((r) => r.isolated) ? 5 : 100,
    bundle_gzip_bytes: gzipSync(sdk, { level: 9 }).length,
    batches_received: batches,
    chromium: browser.version(),
  };
  console.log(JSON.stringify(result));
}

await main();
