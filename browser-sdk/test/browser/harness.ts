// Real-browser harness: Debian's Chromium (playwright-core) against the real Telltale server, with a
// small 127.0.0.1 front server that serves the test pages and forwards /v1/* to the collector,
// recording every upload (and, on demand, answering 429 itself).
import type { Batch } from '@telltale/protocol';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTelltale, type RunningTelltale } from '../../../cli/src/index.js';
import { launchChromium } from '../../../test-support/chromium.js';
// @ts-expect-error plain ESM build script without type declarations
import { build } from '../../scripts/build.mjs';

// One launch recipe for every browser test in the repo.
export { CHROMIUM } from '../../../test-support/chromium.js';
/** The CSP we ask of users: no inline script, no eval, nothing from another origin. */
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'";

/** One request to /v1/* as the front server saw it, with the answer the browser got. */
export interface Upload {
  at: number;
  path: string;
  gzip: boolean;
  status: number;
  /** The batch (for /v1/batch), decoded. */
  batch?: Batch;
  /** The collector's JSON answer. */
  answer?: { accepted?: number; duplicate?: boolean; id?: string };
}

/** How a test page is put together: scripts run before the SDK, add-ons, init options (JS source). */
export interface Scenario {
  pre?: string;
  addons?: boolean;
  css?: boolean;
  options?: string;
  /** The app's own code, after init. */
  app?: string;
  /** The page never calls init. */
  noInit?: boolean;
  /** The page uses the npm build (dist/index.js) as an ES module instead of the script tag. */
  esm?: boolean;
}

export interface Harness {
  /** The front server: the origin of every test page. */
  origin: string;
  telltale: RunningTelltale;
  browser: Browser;
  uploads: Upload[];
  /** The next `count` POST /v1/batch are answered 429 with this Retry-After by the front server. */
  refuse: { count: number; retryAfter: string };
  /**
   * The network to the collector is down: /v1/* connections are cut (status 0). Chromium's offline
   * emulation alone lets keepalive requests of a closing page through, a real outage would not.
   */
  network: { down: boolean };
  /** CSP violations reported by any page (each page's own list comes with it from newPage). */
  violations: string[];
  scenario(name: string, s: Scenario): string;
  /** A page in a fresh context, with the CSP violations Chromium reported for it (its console). */
  newPage(): Promise<{ context: BrowserContext; page: Page; violations: string[] }>;
  /** Events the dashboards API has for a session (the store deduplicates by event id). */
  storedEvents(session: string): Promise<Array<{ id: string; kind: string; name: string | null }>>;
  /** Ids of every event in batches the collector accepted as new (its spool), with repeats. */
  acceptedIds(): string[];
  attachmentFiles(): Promise<string[]>;
  close(): Promise<void>;
}

export async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const body = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])),
  );
  return nested.flat();
}

export async function startHarness(): Promise<Harness> {
  // Launched first: a missing Chromium fails at once, with the command that installs it.
  const browser = await launchChromium();
  // Built in memory: other test files (and the cli's) read dist/ at the same time.
  const bundles = (await build({ write: false })) as Record<string, { code: string }>;
  const dist = async (file: string) => bundles[file]?.code ?? '';
  const demo = (file: string) => readFile(new URL(`../../demo/${file}`, import.meta.url), 'utf8');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'telltale-sdk-e2e-'));
  // The dashboards' API needs credentials (docs/security.md): the harness reads it with a token.
  const apiToken = 'sdk-harness-admin-token-0123456789abcdef';
  const telltale = await startTelltale({
    port: 0,
    dataDir,
    logger: false,
    env: { TELLTALE_API_TOKEN: apiToken },
  });
  const key = telltale.demoKey!;
  const uploads: Upload[] = [];
  const refuse = { count: 0, retryAfter: '5' };
  const network = { down: false };
  const scenarios = new Map<string, Scenario>();

  const page = (name: string, s: Scenario) => `<!doctype html><html><head><meta charset="utf-8">
${s.css ? '<link rel="stylesheet" href="/blocker.css">' : ''}
<script src="/pre/${name}.js"></script>
${s.esm ? '' : '<script src="/sdk/telltale.min.js"></script>'}
${s.addons ? '<script src="/sdk/telltale-bug.js"></script><script src="/sdk/telltale-trace.js"></script>' : ''}
<script src="/init/${name}.js"${s.esm ? ' type="module"' : ''}></script>
</head><body><p id="p">test page</p></body></html>`;
  // Every page reports CSP violations; the app's own onerror must keep working next to the SDK's.
  const pre = (s: Scenario) => `window.violations = [];
document.addEventListener('securitypolicyviolation', function (e) { window.violations.push(e.violatedDirective + ' ' + e.blockedURI); });
window.appSawErrors = 0; window.onerror = function () { window.appSawErrors++; };
${s.pre ?? ''}`;
  const init = (s: Scenario) =>
    s.noInit
      ? (s.app ?? '')
      : `${s.esm ? `import * as Telltale from '/sdk/index.js'; window.Telltale = Telltale;\n` : ''}Telltale.init({ endpoint: '', key: ${JSON.stringify(key)}, release: 'e2e-1.0.0', environment: 'e2e'${s.options ? `, ${s.options}` : ''} });\n${s.app ?? ''}`;

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.startsWith('/v1/')) {
        const raw = await body(req);
        const gzip = raw[0] == 0x1f && raw[1] == 0x8b;
        const upload: Upload = { at: Date.now(), path: url.pathname, gzip, status: 0 };
        if (url.pathname == '/v1/batch')
          upload.batch = JSON.parse((gzip ? gunzipSync(raw) : raw).toString('utf8')) as Batch;
        uploads.push(upload);
        if (network.down) return void req.socket.destroy();
        if (url.pathname == '/v1/batch' && refuse.count > 0) {
          refuse.count--;
          upload.status = 429;
          res
            .writeHead(429, {
              'content-type': 'application/json',
              'retry-after': refuse.retryAfter,
              'access-control-expose-headers': 'Retry-After',
            })
            .end('{"error":{"code":"TELLTALE_ERR_RATE_LIMITED","message":"slow down"}}');
          return;
        }
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'content-encoding', 'user-agent', 'origin'])
          if (typeof req.headers[h] == 'string') headers[h] = req.headers[h];
        const answer = await fetch(`${telltale.url}${req.url}`, {
          method: req.method,
          headers,
          body: new Uint8Array(raw),
        });
        const text = await answer.text();
        upload.status = answer.status;
        upload.answer = text ? (JSON.parse(text) as Upload['answer']) : undefined;
        const back: Record<string, string> = { 'content-type': 'application/json' };
        const retryAfter = answer.headers.get('retry-after');
        if (retryAfter) back['retry-after'] = retryAfter;
        res.writeHead(answer.status, back).end(text);
        return;
      }
      if (url.pathname == '/api/echo') {
        // The app's own API: tells the test which traceparent it received.
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ traceparent: req.headers.traceparent ?? null }));
        return;
      }
      const [, dir, file] = /^\/([\w-]+)\/([\w.-]+?)(\.js|\.css)?$/.exec(url.pathname) ?? [];
      const s = scenarios.get(file ?? '');
      let content: [string, string | Buffer] | undefined;
      if (dir == 'page' && s) content = ['text/html', page(file!, s)];
      else if (dir == 'pre' && s) content = ['text/javascript', pre(s)];
      else if (dir == 'init' && s) content = ['text/javascript', init(s)];
      else if (dir == 'sdk') content = ['text/javascript', await dist(url.pathname.slice(5)).catch(() => '')];
      else if (url.pathname == '/blocker.css')
        content = ['text/css', '.adsbox { display: none !important; }'];
      else if (url.pathname == '/demo')
        content = [
          'text/html',
          (await demo('index.html')).replaceAll('%TELLTALE_KEY%', key).replaceAll('%TELLTALE_ENDPOINT%', ''),
        ];
      else if (url.pathname == '/demo/demo.js') content = ['text/javascript', await demo('demo.js')];
      else if (url.pathname == '/demo/demo.css') content = ['text/css', await demo('demo.css')];
      if (!content || content[1] === '') return void res.writeHead(404).end();
      // Cacheable, so a page can be opened again while offline (as an offline-capable app would be).
      res
        .writeHead(200, {
          'content-type': content[0],
          'content-security-policy': CSP,
          'cache-control': 'max-age=600',
        })
        .end(content[1]);
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const violations: string[] = [];

  return {
    origin,
    telltale,
    browser,
    uploads,
    refuse,
    network,
    violations,
    scenario(name, s) {
      scenarios.set(name, s);
      return `${origin}/page/${name}`;
    },
    async newPage() {
      const context = await browser.newContext();
      const page = await context.newPage();
      const own: string[] = [];
      page.on('console', (m) => {
        if (!/Content Security Policy/i.test(m.text())) return;
        violations.push(m.text());
        own.push(m.text());
      });
      return { context, page, violations: own };
    },
    async storedEvents(session) {
      const r = await fetch(`${telltale.url}/api/events?session=${session}&limit=1000`, {
        headers: { authorization: `Bearer ${apiToken}` },
      });
      if (!r.ok) throw new Error(`/api/events answered ${r.status}`);
      return ((await r.json()) as { events: Array<{ id: string; kind: string; name: string | null }> })
        .events;
    },
    acceptedIds: () =>
      uploads
        .filter((u) => u.batch && u.status == 202 && u.answer?.duplicate === false)
        .flatMap((u) => u.batch!.events.map((e) => e.id)),
    attachmentFiles: () => walk(path.join(dataDir, 'attachments')),
    async close() {
      await browser.close();
      await new Promise((r) => server.close(r));
      await telltale.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Every CSP violation of one page: what its console said (`seen`, from newPage) and what its
 * `securitypolicyviolation` listener caught (scenario pages install one before anything runs).
 */
export async function cspViolations(page: Page, seen: readonly string[]): Promise<string[]> {
  const caught = await page.evaluate(() => (window as unknown as { violations?: string[] }).violations ?? []);
  return [...seen, ...caught];
}

/** Reads `window[name]` in the page. */
export const read = <T>(page: Page, name: string): Promise<T> =>
  page.evaluate((n) => (window as unknown as Record<string, T>)[n]!, name);

/** Calls `Telltale[fn](...args)` in the page. */
export const call = (page: Page, fn: string, ...args: unknown[]): Promise<unknown> =>
  page.evaluate(
    ([f, a]) =>
      (window as unknown as { Telltale: Record<string, (...x: unknown[]) => unknown> }).Telltale[
        f as string
      ]!(...(a as unknown[])),
    [fn, args] as const,
  );

/** Batches (decoded) that carry an event matching `test`. */
export const carrying = (h: Harness, test: (e: Batch['events'][number]) => boolean) =>
  h.uploads.filter((u) => u.batch?.events.some(test));
