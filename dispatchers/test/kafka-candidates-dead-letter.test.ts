import path from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import kafkajs, { type Producer } from 'kafkajs';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveDispatcherConfig, startDispatchers, type Dispatchers } from '@telltale/dispatchers';
import { createCandidatesSink, type SharedAlertState } from '../src/alerts/index.js';
import { envelope, errorEvent, payload, tempDir, waitFor } from './helpers.js';

const NonRetriable = kafkajs.KafkaJSNonRetriableError as unknown as new (
  error: Error,
  options: { cause: Error },
) => Error;

/** A broker refusing records over its message.max.bytes with kafkajs's MESSAGE_TOO_LARGE (error code 10). */
function refusingBroker(limitBytes: number): { producer: Producer; accepted: string[] } {
  const accepted: string[] = [];
  const producer = {
    async send({ messages }: { messages: Array<{ key: string; value: string }> }) {
      await Promise.resolve();
      if (messages.some((m) => Buffer.byteLength(m.value) > limitBytes)) {
        // kafkajs's typings narrow the constructor; at run time it takes the error-code entry.
        const refusal = new kafkajs.KafkaJSProtocolError({
          type: 'MESSAGE_TOO_LARGE',
          code: 10,
          retriable: false,
          message: 'The request included a message larger than the max message size the server will accept',
        } as unknown as Error);
        throw new NonRetriable(refusal, { cause: refusal });
      }
      accepted.push(...messages.map((m) => JSON.parse(m.value).id as string));
      return [];
    },
  } as unknown as Producer;
  return { producer, accepted };
}

describe('Kafka alert candidates through the dispatcher: a too-large candidate is dead-lettered', () => {
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

  it('the big record goes to the dead letters with its reason; the others are forwarded once', async () => {
    // A broker whose message.max.bytes (16 KiB) is below the trimmed hostile candidate (~50 KB).
    const broker = refusingBroker(16 * 1024);
    const candidates = createCandidatesSink({
      producer: broker.producer,
      topic: 'alert-candidates',
      state: {
        refresh: async () => undefined,
        groups: { get: () => undefined },
      } as unknown as SharedAlertState,
      decided: () => false,
      firstUsePerAccount: false,
      forgetAfterMs: 3_600_000,
    });
    const stack = Array.from(
      { length: 200 },
      (_, i) => `    at 函数${'字'.repeat(20)}${i} (https://a.example/${'路'.repeat(10)}.js:${i}:1)`,
    ).join('\n');
    const hostile = errorEvent('e-big', {
      type: 'RangeError',
      message: '漢'.repeat(8192),
      stack,
      breadcrumbs: Array.from({ length: 50 }, () => ({ message: '面'.repeat(8192) })),
    } as Parameters<typeof errorEvent>[1]);
    // Written before start, so the three records arrive in one read and one export.
    await writer.append(payload(envelope('b-1', [errorEvent('e-1')])));
    await writer.append(payload(envelope('b-2', [hostile])));
    await writer.append(payload(envelope('b-3', [errorEvent('e-3', { type: 'SyntaxError' })])));
    dispatchers = await startDispatchers(resolveDispatcherConfig({ dataDir: dir, pollMs: 50 }, {}), {
      duckdb,
      spoolDir: writer.dir,
      notify: (listener) => writer.onAppend(listener),
      sinks: [{ ...candidates, name: 'candidates' }],
    });
    const consumer = (): { records?: number; deadLettered?: Record<string, number> } | undefined =>
      dispatchers?.stats().consumers.find((c) => c.name === 'candidates');

    await waitFor('all three records handled', () => consumer()?.records === 3);
    expect(consumer()?.deadLettered).toEqual({ sink_rejected: 1 });
    expect(broker.accepted.sort()).toEqual(['e-1', 'e-3']);
    expect(candidates.stats()).toMatchObject({ forwarded: 2 });
    const deadDir = path.join(dir, 'dead-letter', 'candidates');
    const reasonFile =
      (await readdir(deadDir, { recursive: true })).find((f) => f.endsWith('.reason.json')) ?? '';
    const reason = JSON.parse(await readFile(path.join(deadDir, reasonFile), 'utf8')) as {
      code: string;
      reason: string;
    };
    expect(reason.code).toBe('sink_rejected');
    expect(reason.reason).toMatch(/^candidates: alert candidates too large for Kafka/);
  });
});
