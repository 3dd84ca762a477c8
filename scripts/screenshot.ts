/**
 * The README's picture of the errors page: `npm run build && npx tsx scripts/screenshot.ts` seeds a
 * day of errors (a fixed, made-up corpus) through the real dispatchers into a temporary DuckDB, serves
 * the dashboards over it, and writes docs/images/errors.png from headless Chromium
 * (/usr/bin/chromium, like the tests). Nothing outside the temp dir and the image is touched.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import Fastify from 'fastify';
import { createDuckDbStore, dashboardsPlugin, registerAuth } from '@telltale/dashboards';
import { resolveDispatcherConfig, startDispatchers } from '@telltale/dispatchers';
import type { SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';
import { openSpoolWriter } from '@telltale/spool';
import { launchChromium, loopbackContext } from '../test-support/chromium.js';

const OUT = fileURLToPath(new URL('../docs/images/errors.png', import.meta.url));
const TOKEN = 'screenshot-token-0123456789abcdef';
const HOUR = 3_600_000;

/** Error groups and their events per hour over the last day (oldest hour first), made up. */
const GROUPS: Array<{ type: string; message: string; file: string; hours: number[] }> = [
  {
    type: 'TypeError',
    message: "Cannot read properties of undefined (reading 'total')",
    file: 'cart',
    hours: [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 6, 9, 7, 8, 5, 6, 4],
  },
  {
    type: 'RangeError',
    message: 'Invalid array length',
    file: 'pay',
    hours: [2, 1, 2, 3, 2, 1, 2, 2, 3, 2, 1, 2, 3, 2, 2, 1, 2, 3, 2, 2, 1, 2, 3, 2],
  },
  {
    type: 'ChunkLoadError',
    message: 'Loading chunk 412 failed',
    file: 'loader',
    hours: [0, 0, 0, 0, 0, 0, 4, 8, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  },
  {
    type: 'AbortError',
    message: 'The user aborted a request.',
    file: 'api',
    hours: [1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 2, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1],
  },
  {
    type: 'SyntaxError',
    message: 'Unexpected token < in JSON at position 0',
    file: 'settings',
    hours: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 4, 2, 1, 0, 0, 0, 0, 0, 0],
  },
];

function envelopes(now: number): SpoolEnvelope[] {
  const start = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
  const out: SpoolEnvelope[] = [];
  let n = 0;
  GROUPS.forEach((group, g) => {
    group.hours.forEach((count, hour) => {
      for (let i = 0; i < count; i++) {
        n += 1;
        // Minutes into the hour; the current hour is squeezed into the part of it already gone.
        const minutes = ((i * 7 + g * 11) % 55) * (hour === 23 ? (now - start - 23 * HOUR) / HOUR : 1);
        const ts = start + hour * HOUR + Math.floor(minutes * 60_000);
        const event: TelltaleEvent = {
          id: `shot-${n}`,
          ts,
          kind: 'error',
          type: group.type,
          message: group.message,
          stack: `${group.type}: ${group.message}\n    at ${group.file} (https://shop.example.com/assets/${group.file}.js:${10 + g}:7)`,
          url: `/${group.file}`,
        };
        out.push({
          v: 1,
          app: 'shop',
          receivedAt: ts + 500,
          userAgent:
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
          batch: {
            v: 1,
            batchId: `shot-batch-${n}`.padEnd(16, '0'),
            sentAt: ts + 400,
            release: hour >= 16 && g === 0 ? '1.5.0' : '1.4.2',
            environment: 'production',
            session: `session-${n % 17}`,
            user: `user-${n % 13}`,
            events: [event],
          },
        } as SpoolEnvelope);
      }
    });
  });
  return out;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-screenshot-'));
  const duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
  const writer = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
  const dispatchers = await startDispatchers(resolveDispatcherConfig({ dataDir: dir, pollMs: 50 }, {}), {
    duckdb,
    spoolDir: writer.dir,
    notify: (listener) => writer.onAppend(listener),
  });
  const seeded = envelopes(Date.now());
  for (const envelope of seeded) await writer.append(Buffer.from(JSON.stringify(envelope)));
  const store = await createDuckDbStore(duckdb);
  const deadline = Date.now() + 60_000;
  while ((await store.eventCounts()).error < seeded.length) {
    if (Date.now() > deadline) throw new Error('the seeded errors did not reach DuckDB within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const app = Fastify();
  await registerAuth(app, { dataDir: dir, apiToken: TOKEN });
  await app.register(dashboardsPlugin, { store, listAlerts: async () => [] });
  const url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', '127.0.0.1');
  const browser = await launchChromium();
  try {
    const context = await loopbackContext(browser);
    await context.setExtraHTTPHeaders({ authorization: `Bearer ${TOKEN}` });
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 560 });
    await page.goto(`${url}/`);
    await mkdir(path.dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });
    process.stdout.write(`${OUT}\n`);
  } finally {
    await browser.close();
    await app.close();
    await dispatchers.close();
    await store.close();
    await writer.close();
    duckdb.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
