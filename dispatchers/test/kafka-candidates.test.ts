import kafkajs, { type Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  createCandidatesSink,
  MAX_CANDIDATE_SEND_BYTES,
  trimCandidate,
  type SharedAlertState,
  alertKeys,
  composeAlert,
} from '../src/alerts/index.js';
import { enrichEnvelope, type EnrichedEvent } from '../src/pipeline/index.js';
import type { SpoolEnvelope } from '@telltale/protocol';

/** The review's hostile error (issue #12): 50 breadcrumbs × 8,192 CJK chars, 1.25 MB of JSON that validateBatch accepts. */
function hostileErrors(count: number, name = 'Error'): EnrichedEvent[] {
  const message = '漢'.repeat(8192);
  const stack = Array.from(
    { length: 200 },
    (_, i) => `    at 函数${'字'.repeat(20)}${i} (https://a.example/${'路'.repeat(10)}.js:${i}:1)`,
  ).join('\n');
  const events = Array.from({ length: count }, (_, i) => ({
    id: `e${i}`,
    ts: 1_700_000_000_000,
    kind: 'error',
    type: name,
    message,
    stack,
    breadcrumbs: Array.from({ length: 50 }, () => ({ message: '面'.repeat(8192) })),
  }));
  return enrichEnvelope({
    v: 1,
    app: 'shop',
    receivedAt: 1_700_000_000_000,
    batch: { v: 1, batchId: `b-${name}`, release: 'r1', environment: 'prod', session: 's1', events },
  } as unknown as SpoolEnvelope);
}

function smallError(type: string): EnrichedEvent {
  return enrichEnvelope({
    v: 1,
    app: 'shop',
    receivedAt: 1_700_000_000_000,
    batch: {
      v: 1,
      batchId: `b-${type}`,
      release: 'r1',
      environment: 'prod',
      session: 's1',
      events: [{ id: type, ts: 1_700_000_000_000, kind: 'error', type, message: `${type} broke`, stack: '' }],
    },
  } as unknown as SpoolEnvelope)[0]!;
}

/**
 * A broker's answer to a record over its message.max.bytes, built as kafkajs builds it from error
 * code 10 (createErrorFromCode), then wrapped as its retrier wraps a non-retriable error.
 */
function standInProducer(limitBytes: number): {
  producer: Producer;
  accepted: string[];
  refusals: number;
  requestBytes: number[];
} {
  const out = {
    accepted: [] as string[],
    refusals: 0,
    requestBytes: [] as number[],
    producer: undefined as unknown as Producer,
  };
  out.producer = {
    async send({ messages }: { messages: Array<{ key: string; value: string }> }) {
      await Promise.resolve();
      out.requestBytes.push(
        messages.reduce((sum, m) => sum + Buffer.byteLength(m.key) + Buffer.byteLength(m.value), 0),
      );
      for (const m of messages)
        if (Buffer.byteLength(m.value) > limitBytes) {
          out.refusals += 1;
          // kafkajs's typings narrow both constructors; at run time they take these arguments.
          const refusal = new kafkajs.KafkaJSProtocolError({
            type: 'MESSAGE_TOO_LARGE',
            code: 10,
            retriable: false,
            message: 'The request included a message larger than the max message size the server will accept',
          } as unknown as Error);
          throw new NonRetriable(refusal, { cause: refusal });
        }
      out.accepted.push(...messages.map((m) => m.key));
      return [];
    },
  } as unknown as Producer;
  return out;
}

const NonRetriable = kafkajs.KafkaJSNonRetriableError as unknown as new (
  error: Error,
  options: { cause: Error },
) => Error;

const noState = {
  refresh: async () => undefined,
  groups: { get: () => undefined },
} as unknown as SharedAlertState;

function sink(producer: Producer) {
  return createCandidatesSink({
    producer,
    topic: 'alert-candidates',
    state: noState,
    decided: () => false,
    firstUsePerAccount: false,
    forgetAfterMs: 3_600_000,
  });
}

describe('Kafka alert candidates: bounded in bytes, never retried forever', () => {
  it('a hostile error travels as a candidate of a few dozen KB, and its email is unchanged', () => {
    const [event] = hostileErrors(1);
    expect(Buffer.byteLength(JSON.stringify(event))).toBeGreaterThan(1024 * 1024);
    const trimmed = trimCandidate(event!);
    const bytes = Buffer.byteLength(JSON.stringify(trimmed));
    expect(bytes).toBeLessThan(64 * 1024);
    expect(trimmed.breadcrumbs).toBeNull();
    const alert = alertKeys(event!)[0]!;
    const context = { dashboardUrl: 'https://telltale.example' };
    const full = composeAlert(event!, alert, context)!;
    const email = composeAlert(trimmed, alert, context)!;
    expect(email).toEqual(full);
    expect(email.subject).toContain(`New error in shop: Error: ${'漢'.repeat(40)}`);
    expect(email.text).toContain(`What:`);
    expect(email.text).toContain('漢'.repeat(8192));
    expect(email.text).toContain(`Where (top frames):\n  at 函数${'字'.repeat(20)}0 (https://a.example/`);
  });

  it('the hostile event is sent through a broker with the default 1 MiB limit: no wedge', async () => {
    const broker = standInProducer(1024 * 1024);
    const result = await sink(broker.producer).export(hostileErrors(20));
    expect(result).toEqual({ status: 'ok' });
    expect(broker.refusals).toBe(0);
    // 20 occurrences of one subject (~25 MB as events), in requests below the cap.
    expect(broker.accepted.length).toBe(20);
    expect(Math.max(...broker.requestBytes)).toBeLessThanOrEqual(MAX_CANDIDATE_SEND_BYTES);
  });

  it('a candidate the broker refuses as too large is rejected once, the others are sent once', async () => {
    // A broker with a smaller message.max.bytes than the trimmed hostile candidate (~50 KB).
    const broker = standInProducer(16 * 1024);
    const candidates = sink(broker.producer);
    const before = smallError('TypeError');
    const [big] = hostileErrors(1, 'RangeError');
    const after = smallError('SyntaxError');
    const first = await candidates.export([before, big!, after]);
    expect(first.status).toBe('rejected');
    expect(first.status === 'rejected' ? first.reason : '').toMatch(/too large/);
    expect(broker.accepted.sort()).toEqual(
      [before.fingerprint, after.fingerprint].map((fp) => `shop:error:${fp}`).sort(),
    );
    // What the sink handler does with a rejected export: record by record, dead-lettering the rejected.
    const retries = await Promise.all([before, big!, after].map((e) => candidates.export([e])));
    expect(retries.map((r) => r.status)).toEqual(['ok', 'rejected', 'ok']);
    expect(broker.accepted.length).toBe(2);
    expect(candidates.stats()).toMatchObject({ forwarded: 2, rejected: 2 });
  });

  it('Kafka down answers retryable, and nothing counts as forwarded', async () => {
    const kafka = new kafkajs.Kafka({
      clientId: 'candidates-test',
      // Nothing listens on port 1 of 127.0.0.1: connections are refused at once.
      brokers: ['127.0.0.1:1'],
      logLevel: kafkajs.logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
      connectionTimeout: 500,
    });
    const candidates = sink(kafka.producer());
    const result = await candidates.export([smallError('TypeError')]);
    expect(result.status).toBe('retryable');
    expect(candidates.stats().forwarded).toBe(0);
  });
});
