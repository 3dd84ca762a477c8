import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTelltale, type RunningTelltale } from '../../cli/src/server.js';
import {
  bundleTransport,
  duckRows,
  kill9,
  startApp,
  startDoor,
  storedNumbers,
  tempDir,
  waitFor,
  type AppProcess,
  type LoggerApi,
} from './helpers.js';

const API_TOKEN = 'node-transport-test-token-0123456789abcdef';
// Two collector starts, a child app and DuckDB reads each: far past vitest's default on a loaded machine.
const OUTAGE_TEST_TIMEOUT_MS = 180_000;
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe.each<LoggerApi>(['destination', 'transport'])('%s: collector down', (api) => {
  let data: { dir: string; remove(): Promise<void> };
  let work: { dir: string; remove(): Promise<void> };
  let door: Awaited<ReturnType<typeof startDoor>>;
  let server: RunningTelltale | undefined;
  let app: AppProcess | undefined;
  let bundles: Record<string, string>;

  beforeEach(async () => {
    data = await tempDir('node-outage-data');
    work = await tempDir('node-outage-app');
    bundles = { ...(await bundleTransport(work.dir)), TT_API: api };
    door = await startDoor(); // closed: every connection to the "collector" is reset
  });
  afterEach(async () => {
    if (app) await kill9(app);
    app = undefined;
    await server?.close();
    server = undefined;
    await door.close();
    await data.remove();
    await work.remove();
  });

  async function openCollector(env: Record<string, string> = {}): Promise<RunningTelltale> {
    server = await startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: API_TOKEN, ...env },
    });
    door.open(new URL(server.url));
    return server;
  }

  it(
    'loses nothing, and the app finishes every logging call while the collector is down',
    async () => {
      // The demo app's secret key is made at the collector's first start: make it now, stop, keep the data dir.
      const key = (await openCollector()).demoSecret!;
      await server!.close();
      server = undefined;
      door.shut(); // down again

      app = startApp({
        ...bundles,
        TT_ENDPOINT: door.url,
        TT_KEY: key,
        TT_DIR: path.join(work.dir, 'buffer'),
        TT_FROM: '0',
        TT_COUNT: '6000',
        TT_BATCH: '5',
      });
      // Every one of the app's 6000 calls returns with nothing acknowledged: logging never waits on us.
      await waitFor('the app to finish its logging loop', () => app!.done() || undefined, 60_000);
      expect(app.wrote()).toBe(6000);
      // Backoff doubles between attempts: three of them can take over 30 s on a loaded machine.
      const down = await waitFor(
        'the transport to report its failed attempts',
        () => {
          const s = app!.stats();
          return s !== undefined && (s.retries as number) >= 3 && s.written === 6000 ? s : undefined;
        },
        90_000,
      );
      expect(down.shipped).toBe(0);
      expect(down.lastError).toMatch(/ECONNRESET|ECONNREFUSED|UND_ERR_SOCKET|other side closed/i);

      await openCollector();
      await waitFor(
        'all 6000 lines stored',
        async () => (await storedNumbers(data.dir)).length >= 6000,
        90_000,
      );
      const stored = await storedNumbers(data.dir);
      expect(stored).toEqual(range(0, 6000)); // each once, none missing
      // Scrubbed on the app's machine, before the line left it.
      const [sample] = await duckRows(
        data.dir,
        "SELECT message FROM server_logs WHERE service = 'numbered' LIMIT 1",
      );
      expect(sample!.message).toMatch(/^line \d+ for \[email\]$/);
      await waitFor('the transport to count them shipped', () => app!.stats()?.shipped === 6000 || undefined);
    },
    OUTAGE_TEST_TIMEOUT_MS,
  );

  it(
    'drops the oldest lines at the buffer cap, counts them exactly, warns once, and ships the newest',
    async () => {
      const key = (await openCollector()).demoSecret!;
      await server!.close();
      server = undefined;
      door.shut();

      const total = 20_000; // ~4 MiB of lines into a 1 MiB buffer
      app = startApp({
        ...bundles,
        TT_ENDPOINT: door.url,
        TT_KEY: key,
        TT_DIR: path.join(work.dir, 'buffer'),
        TT_SERVICE: 'capped',
        TT_MAX_BUFFER: String(1024 * 1024),
        TT_FROM: '0',
        TT_COUNT: String(total),
        TT_BATCH: '50',
      });
      await waitFor('the app to finish its logging loop', () => app!.done() || undefined, 60_000);
      const full = await waitFor('every line written or dropped', () => {
        const s = app!.stats();
        return s !== undefined && s.received === total && (s.written as number) >= total ? s : undefined;
      });
      expect(full.droppedFull).toBeGreaterThan(0);
      expect(full.bufferBytes).toBeLessThanOrEqual(1024 * 1024);
      const warnings = app.stderr().match(/local buffer is full/g) ?? [];
      expect(warnings).toHaveLength(1); // at most once a minute, however many drops

      await openCollector();
      const kept = total - (full.droppedFull as number);
      await waitFor(
        'the kept lines stored',
        async () => (await storedNumbers(data.dir, 'capped')).length >= kept,
        90_000,
      );
      // Drop-oldest: what is left is exactly the newest `kept` lines, each once.
      expect(await storedNumbers(data.dir, 'capped')).toEqual(range(total - kept, kept));
    },
    OUTAGE_TEST_TIMEOUT_MS,
  );

  it(
    'waits out a 429 with Retry-After and loses nothing',
    async () => {
      // The collector's own per-key rate limit, 2 requests a second: most of the app's requests get a 429.
      const collector = await openCollector({
        TELLTALE_RATE_LIMIT_PER_KEY: '2',
        TELLTALE_RATE_LIMIT_PER_KEY_BURST: '2',
      });
      app = startApp({
        ...bundles,
        TT_ENDPOINT: collector.url,
        TT_KEY: collector.demoSecret!,
        TT_DIR: path.join(work.dir, 'buffer'),
        TT_SERVICE: 'limited',
        TT_BATCH_LINES: '25',
        TT_FROM: '0',
        TT_COUNT: '500',
        TT_BATCH: '25',
      });
      await waitFor(
        'the 500 lines stored',
        async () => (await storedNumbers(data.dir, 'limited')).length >= 500,
        90_000,
      );
      expect(await storedNumbers(data.dir, 'limited')).toEqual(range(0, 500));
      expect(app.errorsSeen()).toContain('429');
    },
    OUTAGE_TEST_TIMEOUT_MS,
  );
});
