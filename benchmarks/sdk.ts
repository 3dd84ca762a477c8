/**
 * `npm run bench:sdk`: main-thread time of the browser SDK against Sentry's (`@sentry/browser`, the
 * peer most apps would otherwise load, bundled here with esbuild, default integrations) in the same
 * headless Chromium page, in the same run.
 *
 * Each round is a fresh browser context (empty storage, so our rate limit never cuts in) loading a
 * page with dist/telltale.min.js and Sentry. In it, blocks of 10 calls, ours and Sentry's in turn:
 * our `captureError` of distinct errors (describe, scrub, rate limit, queue, IndexedDB write) against
 * Sentry's `captureException` of distinct errors (event processing, envelope, one fetch each); our
 * `track` against Sentry's `addBreadcrumb`; then our page-hide flush of the queued events (seal,
 * IndexedDB write, JSON, keepalive request). Every timed block ends after some microtask turns, so
 * deferred work (our IndexedDB write, Sentry's promise chain up to its fetch) is counted. Medians
 * are over all blocks of all rounds; each SDK's first call of a page (cold code) is reported apart.
 * The page is cross-origin isolated, for 5 µs timers. Progress goes to stderr; a detail line, then
 * the result line `{"bench":"sdk","capture_us","sentry_capture_us","ratio","track_us"}` go to stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { launchChromium } from '../test-support/chromium.js';

const ROUNDS = 30;
const BLOCK = 10;
const BLOCKS = 3;

// Runs in the page: per-call times in ms. (A string: tsx's helpers must not leak into the page.)
const IN_PAGE = `
window.settle = async function () { for (let i = 0; i < 20; i++) await 0; };
window.bench = async function (block, blocks) {
  const T = window.Telltale, S = window.Sentry, now = () => performance.now();
  const out = { capture: [], sentry: [], track: [], crumb: [] };
  let n = 0, t;
  const time = async (fn) => { t = now(); for (let i = 0; i < block; i++) fn(i); await window.settle(); return (now() - t) / block; };
  t = now();
  T.captureError(new Error('the first error of the page'));
  await window.settle();
  out.first = now() - t;
  t = now();
  S.captureException(new Error('the first Sentry error of the page'));
  await window.settle();
  out.sentryFirst = now() - t;
  for (let b = 0; b < blocks; b++) {
    let errors = Array.from({ length: block }, () => new Error('benchmark error number ' + n++));
    out.capture.push(await time((i) => T.captureError(errors[i])));
    errors = Array.from({ length: block }, () => new Error('benchmark error number ' + n++));
    out.sentry.push(await time((i) => S.captureException(errors[i])));
    out.track.push(await time((i) => T.track('feature-' + n++, { rows: i })));
    out.crumb.push(await time((i) => S.addBreadcrumb({ category: 'ui', message: 'feature-' + n++, data: { rows: i } })));
  }
  t = now();
  window.dispatchEvent(new PageTransitionEvent('pagehide'));
  await window.settle();
  out.flush = now() - t;
  out.isolated = crossOriginIsolated;
  return out;
};`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script src="/sdk.js"></script><script src="/sentry.js"></script><script src="/bench.js"></script>
<script src="/init.js"></script></head><body>bench</body></html>`;
const INIT = (
  port: number,
) => `Telltale.init({ endpoint: '', key: 'bench', release: 'bench', environment: 'bench' });
Sentry.init({ dsn: 'http://0123456789abcdef@127.0.0.1:${port}/1', release: 'bench', environment: 'bench' });`;

interface Sample {
  first: number;
  sentryFirst: number;
  capture: number[];
  sentry: number[];
  track: number[];
  crumb: number[];
  flush: number;
  isolated: boolean;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** `@sentry/browser` as an app's bundler would ship it (the functions used, minified), as `window.Sentry`. */
async function sentryBundle(): Promise<string> {
  const out = await build({
    stdin: {
      // what an app imports (tree-shaken): the default integrations come with init
      contents: `import { init, captureException, addBreadcrumb } from '@sentry/browser';
        window.Sentry = { init, captureException, addBreadcrumb };`,
      resolveDir: new URL('..', import.meta.url).pathname,
      loader: 'js',
    },
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    write: false,
    logLevel: 'warning',
  });
  return out.outputFiles[0]!.text;
}

async function main(): Promise<void> {
  const sdk = await readFile(new URL('../browser-sdk/dist/telltale.min.js', import.meta.url));
  const sentry = await sentryBundle();
  let batches = 0;
  let envelopes = 0;
  let port = 0;
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/') || req.url?.startsWith('/api/')) {
      if (req.url.startsWith('/v1/batch')) batches++;
      if (req.url.startsWith('/api/1/envelope')) envelopes++;
      req.resume();
      req.on('end', () =>
        res
          .writeHead(req.url!.startsWith('/v1/') ? 202 : 200, {
            'content-type': 'application/json',
            'access-control-allow-origin': '*',
          })
          .end('{}'),
      );
      return;
    }
    const files: Record<string, [string, string | Buffer]> = {
      '/': ['text/html', PAGE],
      '/sdk.js': ['text/javascript', sdk],
      '/sentry.js': ['text/javascript', sentry],
      '/bench.js': ['text/javascript', IN_PAGE],
      '/init.js': ['text/javascript', INIT(port)],
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
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  const browser = await launchChromium();
  const all: Sample[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      const r = await page.evaluate(
        ([block, blocks]) =>
          (window as unknown as { bench(a: number, b: number): Promise<Sample> }).bench(block!, blocks!),
        [BLOCK, BLOCKS],
      );
      all.push(r);
      await context.close();
      const f = (ms: number) => `${round(ms * 1000, 1)} µs`;
      process.stderr.write(
        `round ${i + 1}/${ROUNDS}: captureError ${f(median(r.capture))} vs Sentry captureException ${f(median(r.sentry))}, track ${f(median(r.track))} vs addBreadcrumb ${f(median(r.crumb))}, page-hide flush ${f(r.flush)}\n`,
      );
    }
  } finally {
    await browser.close();
    server.close();
  }
  const us = (ms: number[]) => median(ms) * 1000;
  const capture = us(all.flatMap((r) => r.capture));
  const sentryCapture = us(all.flatMap((r) => r.sentry));
  const track = us(all.flatMap((r) => r.track));
  const detail = {
    bench: 'sdk-detail',
    flush_us: round(us(all.map((r) => r.flush)), 1),
    events_per_flush: BLOCK * BLOCKS * 2 + 1,
    sentry_breadcrumb_us: round(us(all.flatMap((r) => r.crumb)), 1),
    first_capture_us: round(us(all.map((r) => r.first)), 1),
    sentry_first_capture_us: round(us(all.map((r) => r.sentryFirst)), 1),
    rounds: ROUNDS,
    timer_us: all.every((r) => r.isolated) ? 5 : 100,
    bundle_gzip_bytes: gzipSync(sdk, { level: 9 }).length,
    sentry_bundle_gzip_bytes: gzipSync(sentry, { level: 9 }).length,
    batches_received: batches,
    sentry_envelopes_received: envelopes,
    chromium: browser.version(),
  };
  console.log(JSON.stringify(detail));
  console.log(
    JSON.stringify({
      bench: 'sdk',
      capture_us: round(capture, 1),
      sentry_capture_us: round(sentryCapture, 1),
      ratio: round(capture / sentryCapture, 3),
      track_us: round(track, 1),
    }),
  );
}

await main();
