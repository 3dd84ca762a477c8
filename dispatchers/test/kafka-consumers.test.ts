import kafkajs, { type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import { guardSink, type Sink, createKafkaConsumers } from '../src/pipeline/index.js';
import { clientBatch } from './corpus.js';

let mock: KafkaMockCluster;
let producer: Producer;

beforeAll(async () => {
  mock = await startKafkaMock();
  const kafka = new kafkajs.Kafka({ brokers: [mock.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await mock?.stop();
});

/** A sink that remembers every event id it accepted. */
function recordingSink(name: string, batching?: Sink['batching']): Sink & { ids: Set<string> } {
  const ids = new Set<string>();
  return {
    name,
    ids,
    ...(batching ? { batching } : {}),
    export: async (events) => {
      for (const e of events) ids.add(e.id);
      return { status: 'ok' };
    },
    close: async () => undefined,
  };
}

describe('Kafka consumers of startDispatchers (a sink group and the alerts group on one topic)', () => {
  it('every event of every record reaches the sink and the alerts', async () => {
    const data = await tempDir('kafka-consumers');
    const prefix = 'consumers.';
    // librdkafka's mock keeps about 5 MB per partition and drops older records (a retention): stay well below.
    const RECORDS = 300;
    const sink = recordingSink('clickhouse', { maxRecords: 250, maxBytes: 16 * 1024 * 1024, maxWaitMs: 200 });
    const alerts = recordingSink('alerts');
    const consumers = createKafkaConsumers({
      settings: { brokers: [mock.bootstrap], clientId: 'test', topicPrefix: prefix, idempotent: false },
      dataDir: data.dir,
      sinks: [guardSink(sink)],
      alerts,
      pool: undefined,
      batchSize: 100,
      pollMs: 50,
      timings: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
    });
    await consumers.start();
    try {
      const now = Date.now();
      const expected = new Set<string>();
      for (let from = 0; from < RECORDS; from += 50) {
        const messages = [];
        for (let n = from; n < from + 50; n += 1) {
          const envelope = clientBatch(n, 100, now - 60_000 + n, 'shop');
          envelope.batch.session = `session-${n}`;
          for (const e of envelope.batch.events) expected.add(e.id);
          messages.push({
            key: `shop/${envelope.batch.session}`,
            value: Buffer.from(JSON.stringify(envelope)),
          });
        }
        await producer.send({ topic: `${prefix}client`, acks: -1, messages });
      }
      await waitFor(
        'every record committed by both groups',
        () => consumers.stats().consumers.every((c) => c.records >= RECORDS),
        60_000,
        200,
      ).catch((error: unknown) => {
        throw new Error(
          `${String(error)}: sink ${sink.ids.size}, alerts ${alerts.ids.size} of ${expected.size}; ${JSON.stringify(consumers.stats())}`,
        );
      });
      expect(sink.ids.size).toBe(expected.size);
      expect(alerts.ids.size).toBe(expected.size);
    } finally {
      await consumers.stop();
      await data.remove();
    }
  }, 180_000);
});
