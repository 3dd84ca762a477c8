import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import { openSpoolWriter, withoutTsLoader } from '@telltale/spool';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDecodePool,
  decodeRecord,
  resolveDispatcherConfig,
  startDispatchers,
  type EnrichedEvent,
  type Sink,
  type DecodePool,
  type RecordDecodeResult,
  type SpoolContent,
} from '@telltale/dispatchers';
import { clientBatch, json, serverLogs } from './corpus.js';
import { DIE_MARKER } from './fixtures/dying-decode-worker.js';
import { envelope, errorEvent, tempDir, waitFor } from './helpers.js';

const DYING_WORKER = new URL('./fixtures/dying-decode-worker.ts', import.meta.url).href;

/** Client batches, server logs and every kind of poison, as each spool can hold them. */
function corpus(): { payload: Buffer; content: SpoolContent }[] {
  const client = Array.from({ length: 300 }, (_, n) => json(clientBatch(n, 1 + (n % 40))));
  const server = Array.from({ length: 40 }, (_, n) => json(serverLogs(n, 1 + (n % 9))));
  const poison = [
    Buffer.from('{"v":1,"app":"shop", this is not json'),
    json({ ...envelope('b-bad', [errorEvent('e-bad')]), batch: { v: 1, events: [] } }),
    json({ v: 2, app: 'shop', receivedAt: 1, batch: {} }),
    json({ v: 1, app: 'shop', receivedAt: 1, logs: [{ id: 'l-1', ts: 1, level: 'loud' }] }),
  ];
  return [
    ...client.map((payload) => ({ payload, content: 'client' as const })),
    ...server.map((payload) => ({ payload, content: 'server' as const })),
    ...[...client.slice(0, 20), ...server.slice(0, 20)].map((payload) => ({
      payload,
      content: 'mixed' as const,
    })),
    ...poison.map((payload) => ({ payload, content: 'client' as const })),
    ...poison.map((payload) => ({ payload, content: 'server' as const })),
    ...poison.map((payload) => ({ payload, content: 'mixed' as const })),
  ];
}

/**
 * Results with each raw payload as its length: vitest compares big Buffers byte by byte, slowly;
 * the payload's identity is asserted on its own.
 */
function comparable(results: RecordDecodeResult[]): unknown[] {
  return results.map((r) =>
    r.ok ? { ...r, value: { ...r.value, raw: { ...r.value.raw, payload: r.value.raw.payload.length } } } : r,
  );
}

const inline = (payloads: Buffer[], content: SpoolContent): unknown[] =>
  comparable(payloads.map((p) => decodeRecord(p, content)));

describe('decode pool', () => {
  let pool: DecodePool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('decodes in worker threads exactly what decodeRecord gives inline, poison reasons included', async () => {
    pool = await createDecodePool({ threads: 2 });
    const items = corpus();
    for (const content of ['client', 'server', 'mixed'] as const) {
      const payloads = items.filter((i) => i.content === content).map((i) => i.payload);
      const pooled = await pool.decode(payloads, content);
      expect(comparable(pooled)).toEqual(inline(payloads, content));
      // The raw batch keeps the very bytes from the spool (the Blob archive and dead letters write them).
      for (const [index, result] of pooled.entries())
        if (result.ok) expect(result.value.raw.payload).toBe(payloads[index]);
    }
    const failures = (await pool.decode(items.map((i) => i.payload).slice(-4), 'mixed')).map((r) =>
      r.ok ? 'ok' : r.code,
    );
    expect(failures).toEqual(['invalid_json', 'invalid_batch', 'invalid_envelope', 'invalid_logs']);

    // The work really ran in the workers: more than one chunk, on threads other than this one.
    const stats = pool.stats();
    expect(stats.records).toBe(items.length + 4);
    expect(stats.tasks).toBeGreaterThan(3);
    expect(stats.inlineFallbacks).toBe(0);
    expect(stats.workerThreadIds.length).toBeGreaterThan(0);
    expect(stats.workerThreadIds).not.toContain(threadId);
  });

  it('decodes inline with 0 threads', async () => {
    pool = await createDecodePool({ threads: 0 });
    const payloads = [json(clientBatch(1, 5)), Buffer.from('nope')];
    expect(comparable(await pool.decode(payloads, 'client'))).toEqual(inline(payloads, 'client'));
    expect(pool.stats()).toMatchObject({ threads: 0, records: 0, workerThreadIds: [] });
  });

  it('decodes a chunk inline when its worker dies, and keeps using the pool after', async () => {
    // This worker ends its thread mid-task on a chunk holding the marker, as a crash or an OOM kill would.
    pool = await createDecodePool({ threads: 1, workerModule: DYING_WORKER });
    const doomed = clientBatch(9, 200);
    const first = doomed.batch.events[0]!;
    if ('message' in first) first.message = `${first.id} ${DIE_MARKER}`;
    else throw new Error('the corpus starts a client batch with a message event');
    const payloads = [json(doomed), json(clientBatch(10, 3))];
    const results = await pool.decode(payloads, 'client');
    expect(comparable(results)).toEqual(inline(payloads, 'client'));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(pool.stats()).toMatchObject({ tasks: 0, records: 0, inlineFallbacks: 1 });
    expect(pool.stats().lastError).toMatch(/^decode worker: .*exit/i);

    // The pool starts a new worker: the next chunks are decoded there again, on a thread of their own.
    for (const n of [11, 12]) {
      const next = json(clientBatch(n, 3));
      expect(comparable(await pool.decode([next], 'client'))).toEqual(inline([next], 'client'));
    }
    const stats = pool.stats();
    expect(stats, JSON.stringify(stats)).toMatchObject({ tasks: 2, records: 2, inlineFallbacks: 1 });
    expect(stats.workerThreadIds).toHaveLength(1);
    expect(stats.workerThreadIds).not.toContain(threadId);
  });

  it('lets every decode already asked for finish in the workers when it closes', async () => {
    pool = await createDecodePool({ threads: 1 });
    // Four chunks for one thread: two sent, two waiting for a slot when close() is called.
    const payloads = Array.from({ length: 512 }, (_, n) => json(clientBatch(n, 10)));
    const decoding = pool.decode(payloads, 'client');
    await pool.close();
    const results = await decoding;
    expect(results).toHaveLength(512);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(pool.stats()).toMatchObject({ records: 512, inlineFallbacks: 0 });
    // Closed: later calls still answer (inline), nothing is lost.
    const late = json(clientBatch(600, 2));
    expect(comparable(await pool.decode([late], 'client'))).toEqual(inline([late], 'client'));
  });
});

describe('TELLTALE_DISPATCH_THREADS', () => {
  it('defaults to at least one thread, takes 0 for inline, and names the variable when invalid', () => {
    expect(resolveDispatcherConfig({}, {}).dispatchThreads).toBeGreaterThanOrEqual(1);
    expect(resolveDispatcherConfig({}, { TELLTALE_DISPATCH_THREADS: '0' }).dispatchThreads).toBe(0);
    expect(resolveDispatcherConfig({}, { TELLTALE_DISPATCH_THREADS: '3' }).dispatchThreads).toBe(3);
    expect(resolveDispatcherConfig({ dispatchThreads: 2 }, { TELLTALE_DISPATCH_THREADS: '3' })).toMatchObject(
      { dispatchThreads: 2 },
    );
    for (const bad of ['two', '-1', '1.5', '65'])
      expect(() => resolveDispatcherConfig({}, { TELLTALE_DISPATCH_THREADS: bad })).toThrow(
        /TELLTALE_DISPATCH_THREADS: .*(whole number|integer from 0 to 64)/,
      );
  });
});

describe('dispatchers with the decode pool', () => {
  it('decodes each record once in the workers for every consumer, and dead-letters poison with the same reason', async () => {
    const { dir, cleanup } = await tempDir();
    const duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    const client = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    const server = await openSpoolWriter({ dir: path.join(dir, 'spool', 'server') });
    const events: EnrichedEvent[] = [];
    const memory: Sink = {
      name: 'memory',
      export: async (batch) => {
        events.push(...batch);
        return { status: 'ok' };
      },
      exportServerLogs: async () => ({ status: 'ok' }),
      close: async () => undefined,
    };
    const dispatchers = await startDispatchers(
      resolveDispatcherConfig({ dataDir: dir, pollMs: 50, dispatchThreads: 1 }, {}),
      {
        duckdb,
        spoolDir: client.dir,
        notify: (listener) => client.onAppend(listener),
        serverLogs: { spoolDir: server.dir, notify: (listener) => server.onAppend(listener) },
        sinks: [memory],
      },
    );
    try {
      const poison = Buffer.from('{"v":1,"app":"shop", this is not json');
      const badBatch = json({ ...envelope('b-bad', [errorEvent('e-bad')]), batch: { v: 1, events: [] } });
      const good = Array.from({ length: 30 }, (_, n) => json(clientBatch(n, 20)));
      // Appended while the consumers run: the three of them (duckdb, memory, alerts) want each record at once.
      for (const payload of [
        ...good.slice(0, 10),
        poison,
        ...good.slice(10, 20),
        badBatch,
        ...good.slice(20),
      ])
        await client.append(payload);
      await server.append(json(serverLogs(1, 5)));

      await waitFor('every consumer past every record', () =>
        [...dispatchers.stats().consumers, ...dispatchers.stats().serverLogConsumers].every(
          (c) => c.records === (c.name.endsWith('.server') ? 1 : 32),
        ),
      );
      expect(events).toHaveLength(600);
      const stats = dispatchers.stats();
      // Once per record, not once per consumer: the shared cache holds the decode in flight.
      expect(stats.decodePool).toMatchObject({ threads: 1, records: 33, inlineFallbacks: 0 });
      expect(stats.decodePool.workerThreadIds).not.toContain(threadId);

      // Poison is parked by every sink consumer with the code and reason decodeRecord gives inline.
      const expected = [poison, badBatch].map((p) => decodeRecord(p, 'client'));
      for (const consumer of ['duckdb', 'memory', 'alerts']) {
        const root = path.join(dir, 'dead-letter', consumer);
        const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.reason.json'));
        const reasons = await Promise.all(
          files.map(
            async (f) => JSON.parse(await readFile(path.join(root, f), 'utf8')) as Record<string, unknown>,
          ),
        );
        expect(
          reasons
            .map((r) => ({ ok: false, code: r.code, reason: r.reason }))
            .sort((a, b) => String(a.code).localeCompare(String(b.code))),
        ).toEqual(expected.sort((a, b) => (a.ok || b.ok ? 0 : a.code.localeCompare(b.code))));
      }
    } finally {
      await dispatchers.close();
      await client.close();
      await server.close();
      duckdb.closeSync();
      await cleanup();
    }
  });
});

describe('decode worker flags', () => {
  it("keep the process's own flags but not the tsx loader, which a compiled worker file does not need", () => {
    const underTsxCli = [
      '--require',
      '/app/node_modules/tsx/dist/preflight.cjs',
      '--import',
      'file:///app/node_modules/tsx/dist/loader.mjs',
      '--cpu-prof',
      '--import',
      './telemetry.js',
    ];
    expect(withoutTsLoader(underTsxCli)).toEqual(['--cpu-prof', '--import', './telemetry.js']);
    expect(withoutTsLoader(['--import', 'tsx', '--enable-source-maps', '--import=tsx'])).toEqual([
      '--enable-source-maps',
    ]);
    expect(withoutTsLoader(['--max-old-space-size=512', '--require', 'tsx-free-hook.cjs'])).toEqual([
      '--max-old-space-size=512',
      '--require',
      'tsx-free-hook.cjs',
    ]);
  });
});
