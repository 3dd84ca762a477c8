import path from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  resolveDispatcherConfig,
  startDispatchers,
  type Dispatchers,
  type EnrichedEvent,
  type ExportResult,
  type Sink,
} from '@telltale/dispatchers';
import { envelope, errorEvent, payload, tempDir, waitFor } from './helpers.js';

/** A sink that answers from a script, like a ClickHouse that is down for a while or refuses one batch. */
function scriptedSink(
  answer: (events: EnrichedEvent[], call: number) => ExportResult,
): Sink & { stored: string[]; calls: number } {
  const sink = {
    name: 'scripted',
    stored: [] as string[],
    calls: 0,
    async export(events: EnrichedEvent[]): Promise<ExportResult> {
      sink.calls += 1;
      const result = answer(events, sink.calls);
      if (result.status === 'ok') sink.stored.push(...events.map((e) => e.id));
      return result;
    },
    async close() {},
  };
  return sink;
}

describe('sink failures', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let writer: SpoolWriter;
  let dispatchers: Dispatchers | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    duckdb = await DuckDBInstance.create(':memory:');
    writer = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
  });

  afterEach(async () => {
    await dispatchers?.close();
    await writer.close();
    duckdb.closeSync();
    await cleanup();
  });

  async function start(sink: Sink): Promise<Dispatchers> {
    dispatchers = await startDispatchers(resolveDispatcherConfig({ dataDir: dir, pollMs: 50 }, {}), {
      duckdb,
      spoolDir: writer.dir,
      notify: (listener) => writer.onAppend(listener),
      sinks: [sink],
    });
    return dispatchers;
  }

  const scripted = (d: Dispatchers) => d.stats().consumers.find((c) => c.name === 'scripted');

  it('retries a retryable sink with the same events and only then moves its checkpoint', async () => {
    let down = true;
    const sink = scriptedSink(() =>
      down ? { status: 'retryable', reason: 'connection refused' } : { status: 'ok' },
    );
    const d = await start(sink);
    await writer.append(payload(envelope('b-1', [errorEvent('e-1'), errorEvent('e-2')])));

    await waitFor('a few failed attempts', () => sink.calls >= 3);
    expect(scripted(d)).toMatchObject({
      position: { segment: 0, offset: 0 },
      records: 0,
      lastError: 'scripted: connection refused',
    });
    // DuckDB has its own checkpoint and is not held back.
    await waitFor(
      'duckdb consumer done',
      () => (d.stats().consumers.find((c) => c.name === 'duckdb')?.records ?? 0) === 1,
    );

    down = false;
    await waitFor('the events exported once the sink is back', () => sink.stored.length === 2);
    await waitFor('checkpoint moved', () => scripted(d)?.records === 1);
    expect(sink.stored).toEqual(['e-1', 'e-2']);
    expect(scripted(d)?.retries).toBeGreaterThanOrEqual(2);
  });

  it('dead-letters only the batch a sink rejects and exports its neighbours', async () => {
    const sink = scriptedSink((events) =>
      events.some((e) => e.id === 'e-poison')
        ? { status: 'rejected', reason: 'value too large for column' }
        : { status: 'ok' },
    );
    // Written before start, so the three records arrive in one read and one export.
    await writer.append(payload(envelope('b-1', [errorEvent('e-1')])));
    await writer.append(payload(envelope('b-2', [errorEvent('e-poison')])));
    await writer.append(payload(envelope('b-3', [errorEvent('e-3')])));
    const d = await start(sink);

    await waitFor('all three records handled', () => scripted(d)?.records === 3);
    expect(sink.stored.sort()).toEqual(['e-1', 'e-3']);
    expect(scripted(d)?.deadLettered).toEqual({ sink_rejected: 1 });
    const deadDir = path.join(dir, 'dead-letter', 'scripted');
    const reasonFile =
      (await readdir(deadDir, { recursive: true })).find((f) => f.endsWith('.reason.json')) ?? '';
    const reason = JSON.parse(await readFile(path.join(deadDir, reasonFile), 'utf8')) as {
      code: string;
      reason: string;
    };
    expect(reason).toMatchObject({ code: 'sink_rejected', reason: 'scripted: value too large for column' });
  });
});
