import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { TelltaleEvent } from '@telltale/protocol';
import { build, resolveCollectorConfig } from '@telltale/collector';
import {
  createDeadLetterWriter,
  fingerprintError,
  resolveDispatcherConfig,
  startDispatchers,
} from '@telltale/dispatchers';
import { openSpoolWriter } from '@telltale/spool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShop, type ShopBuild } from '../../dispatchers/test/fixtures/shop-app.js';
import { envelope, errorEvent, payload } from '../../dispatchers/test/helpers.js';
import { main } from '../src/index.js';
import { tempDir, waitFor } from './helpers.js';

const SECRET = 'tt_secret_shop_0123456789abcdef';
const INGEST = 'tt_ingest_shop_0123456789abcdef';
const ORIGIN = 'https://shop.example.com';

/** The real V8 stacks of a minified build's two bugs, only the app's own frames. */
async function stacksOf(shop: ShopBuild): Promise<{ checkout: string; redeem: string }> {
  const code = await readFile(path.join(shop.dir, shop.script), 'utf8');
  const context = vm.createContext({ console: { debug: () => undefined } });
  vm.runInContext(code, context, { filename: `${ORIGIN}/${shop.script}` });
  const run = (name: string): string => {
    try {
      (context as { shop: Record<string, () => unknown> }).shop[name]!();
    } catch (error) {
      const lines = ((error as Error).stack ?? '').split('\n');
      return [lines[0], ...lines.slice(1).filter((line) => line.includes(ORIGIN))].join('\n');
    }
    throw new Error(`${name} did not throw`);
  };
  return { checkout: run('checkout'), redeem: run('redeem') };
}

async function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await main(argv, { stdout, stderr, env });
  return { code, out };
}

/**
 * Issue 10's bug: replays built their sink without the regrouping wrapper, so replayed errors were
 * grouped on minified stacks. Live, `telltale replay` and `telltale dlq replay` must agree.
 */
describe('replay groups errors like the live consumers', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let data: string;
  let env: NodeJS.ProcessEnv;
  let stacks1: { checkout: string; redeem: string };
  let stacks2: { checkout: string; redeem: string };
  const error = (id: string, stack: string, message: string): TelltaleEvent =>
    errorEvent(id, { type: 'TypeError', message, stack });
  const CHECKOUT = "Cannot read properties of undefined (reading 'items')";
  const REDEEM = "Cannot read properties of undefined (reading 'percent')";

  async function fingerprints(): Promise<Record<string, string>> {
    const instance = await DuckDBInstance.create(path.join(data, 'telltale.duckdb'));
    const connection = await instance.connect();
    try {
      const rows = (
        await connection.runAndReadAll("SELECT id, fingerprint FROM events WHERE kind = 'error' ORDER BY id")
      ).getRowObjectsJson();
      return Object.fromEntries(rows.map((r) => [String(r.id), String(r.fingerprint)]));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  beforeAll(async () => {
    root = await tempDir('replay-groups');
    data = path.join(root.dir, 'data');
    env = { TELLTALE_DATA_DIR: data };
    const [one, two] = [await buildShop(root.dir, 1), await buildShop(root.dir, 2)];
    [stacks1, stacks2] = [await stacksOf(one), await stacksOf(two)];

    // Maps of both builds uploaded through the collector's route, as `telltale sourcemaps upload` does.
    const spool = await openSpoolWriter({ dir: path.join(data, 'spool', 'client') });
    const collector = await build(
      resolveCollectorConfig(
        { apps: [{ id: 'shop', name: 'Shop', ingestKeys: [INGEST], secretKeys: [SECRET] }] },
        {},
      ),
      { spool },
    );
    for (const [release, shop] of [
      ['1.0.0', one],
      ['2.0.0', two],
    ] as const) {
      const map = await readFile(path.join(shop!.dir, `${shop!.script}.map`), 'utf8');
      const response = await collector.inject({
        method: 'POST',
        url: `/v1/releases/${release}/sourcemaps`,
        headers: {
          authorization: `Bearer ${SECRET}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        payload: gzipSync(JSON.stringify({ files: [{ name: `${ORIGIN}/${shop!.script}`, map }] })),
      });
      expect(response.statusCode, response.body).toBe(201);
    }
    await collector.close();

    // Live: the dispatchers as `telltale start` runs them, on batches received after the upload.
    const receivedAt = Date.now() + 1_000;
    const live = (batchId: string, release: string, events: TelltaleEvent[]) => ({
      ...envelope(batchId, events, 'shop', { release }),
      receivedAt,
    });
    await spool.append(
      payload(
        live('b-1', '1.0.0', [
          error('live-1-checkout', stacks1.checkout, CHECKOUT),
          error('live-1-redeem', stacks1.redeem, REDEEM),
        ]),
      ),
    );
    await spool.append(payload(live('b-2', '2.0.0', [error('live-2-checkout', stacks2.checkout, CHECKOUT)])));
    const duckdb = await DuckDBInstance.create(path.join(data, 'telltale.duckdb'));
    const dispatchers = await startDispatchers(resolveDispatcherConfig({ dataDir: data, pollMs: 50 }, {}), {
      duckdb,
      spoolDir: spool.dir,
      notify: (listener) => spool.onAppend(listener),
    });
    await waitFor('the live batches stored', async () =>
      dispatchers.stats().consumers.find((c) => c.name === 'duckdb')?.events === 3 ? true : undefined,
    );
    await dispatchers.close();
    duckdb.closeSync();
    await spool.close();

    // A batch DuckDB refused last night (fixed since): build 2's checkout bug, parked as a dead letter.
    await createDeadLetterWriter(data, 'duckdb').write(
      { segment: 9, offset: 0 },
      payload(
        live('b-dead', '2.0.0', [
          error('dead-2-checkout', stacks2.checkout, CHECKOUT),
          error('dead-2-redeem', stacks2.redeem, REDEEM),
        ]),
      ),
      'sink_rejected',
      'duckdb: Conversion Error: …',
    );
  });

  afterAll(async () => {
    await root?.remove();
  });

  it('groups one bug across builds live, and so do telltale dlq replay and telltale replay', async () => {
    const live = await fingerprints();
    // Live, the maps make two builds' minified stacks one group, and keep the two bugs apart.
    expect(live['live-2-checkout']).toBe(live['live-1-checkout']);
    expect(live['live-1-redeem']).not.toBe(live['live-1-checkout']);
    // …which the minified stacks alone would not: the regrouping is what is under test.
    const minified = fingerprintError({ type: 'TypeError', message: CHECKOUT, stack: stacks2.checkout });
    expect(minified).not.toBe(live['live-1-checkout']);

    const dlq = await cli(['dlq', 'replay'], env);
    expect(dlq.out).toContain('replayed duckdb/0000000009-000000000000: 2 events');
    expect(dlq.code).toBe(0);
    const afterDlq = await fingerprints();
    expect(afterDlq['dead-2-checkout']).toBe(live['live-1-checkout']);
    expect(afterDlq['dead-2-redeem']).toBe(live['live-1-redeem']);

    // Replay from the spool into a fresh store: the same groups as live, row for row.
    await rm(path.join(data, 'telltale.duckdb'), { force: true });
    await rm(path.join(data, 'telltale.duckdb.wal'), { force: true });
    const replay = await cli(['replay', '--sink', 'duckdb', '--since', '2d', '--until', '2099-01-01'], env);
    expect(replay.out).toMatch(/^replayed 3 events and 0 server logs from 2 batches to duckdb/m);
    expect(replay.code).toBe(0);
    expect(await fingerprints()).toEqual(live);
  });
});
