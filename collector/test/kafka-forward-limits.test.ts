import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import kafkajs, { type Consumer, type Producer, type ProducerRecord } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kafkaRecordKey } from '@telltale/protocol';
import { listSegments, openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import { createForwardDeadLetter } from '../src/forward/dead-letter.js';
import { FORWARD_BATCH_BYTES, startLane, type Lane } from '../src/forward/lane.js';
import { clientRecordKey, serverRecordKey } from '../src/forward/record-key.js';

/** A broker's default `message.max.bytes` (1,048,588), rounded: the librdkafka mock cluster accepts any size. */
const BROKER_LIMIT = 1024 * 1024;

let mock: KafkaMockCluster;
let topicCount = 0;
beforeAll(async () => {
  mock = await startKafkaMock();
});
afterAll(async () => {
  await mock?.stop();
});

// kafkajs's typings omit the constructor's second argument, which carries the broker's answer.
const NonRetriable = kafkajs.KafkaJSNonRetriableError as unknown as new (
  e: Error,
  o: { cause: Error },
) => Error;

/**
 * The real kafkajs producer on the mock cluster behind a broker's size check, the way the review
 * reproduced the wedge: a request with more than BROKER_LIMIT record bytes is refused whole with
 * kafkajs's own MESSAGE_TOO_LARGE (non-retriable), as kafkajs reports a real broker's answer.
 */
function sizeCheckedProducer(real: Producer): { producer: Producer; requests: number[]; refused: number[] } {
  const requests: number[] = [];
  const refused: number[] = [];
  const send = async (record: ProducerRecord): ReturnType<Producer['send']> => {
    const bytes = record.messages.reduce((sum, m) => sum + (m.value as Buffer).length, 0);
    if (bytes > BROKER_LIMIT) {
      refused.push(bytes);
      const answer = new kafkajs.KafkaJSProtocolError({
        type: 'MESSAGE_TOO_LARGE',
        code: 10,
        retriable: false,
        message: 'The request included a message larger than the max message size the server will accept',
      } as unknown as Error);
      // As kafkajs's retrier hands it up (src/retry: `new KafkaJSNonRetriableError(e, { cause: e.cause || e })`).
      throw new NonRetriable(answer, { cause: answer });
    }
    requests.push(bytes);
    return real.send(record);
  };
  return { producer: { ...real, send } as Producer, requests, refused };
}

async function readTopic(topic: string): Promise<{ values: Buffer[]; stop(): Promise<void> }> {
  const kafka = new kafkajs.Kafka({ brokers: [mock.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `limits-${topic}` });
  const values: Buffer[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      values.push(message.value ?? Buffer.alloc(0));
    },
  });
  return { values, stop: () => consumer.disconnect() };
}

const logEnvelope = (i: number, pad: number): Buffer =>
  Buffer.from(
    JSON.stringify({
      v: 1,
      app: 'web',
      receivedAt: 1_700_000_000_000 + i,
      logs: [{ id: `l-${i}`, ts: 1, level: 'info', service: 'api', message: `line ${i} ${'x'.repeat(pad)}` }],
    }),
  );

describe('Kafka forwarder: requests bounded, records the broker refuses dead-lettered', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let spool: SpoolWriter | undefined;
  let lane: Lane | undefined;
  let real: Producer | undefined;
  let reader: { stop(): Promise<void> } | undefined;

  const setup = async (): Promise<{ topic: string; checked: ReturnType<typeof sizeCheckedProducer> }> => {
    tmp = await tempDir('kafka-limits');
    topicCount += 1;
    spool = await openSpoolWriter({
      dir: path.join(tmp.dir, 'spool', 'server'),
      segmentMaxBytes: 256 * 1024,
    });
    const kafka = new kafkajs.Kafka({ brokers: [mock.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
    real = kafka.producer({ allowAutoTopicCreation: true });
    return { topic: `limits-${topicCount}-${Date.now()}`, checked: sizeCheckedProducer(real) };
  };
  const begin = async (topic: string, producer: Producer): Promise<Lane> =>
    (lane = await startLane({
      spool: spool!,
      topic,
      checkpointFile: path.join(tmp.dir, 'checkpoints', 'kafka-forward.server.json'),
      producer,
      connect: () => real!.connect(),
      keyOf: serverRecordKey,
      deadLetter: createForwardDeadLetter(tmp.dir, 'server', topic),
    }));

  afterEach(async () => {
    await lane?.stop();
    await reader?.stop();
    await real?.disconnect();
    await spool?.close();
    lane = reader = real = spool = undefined;
    await tmp.remove();
  });

  it('600 server-log envelopes of one service (one partition, 1.5 MB): forwarded in requests below the cap, segments removed', async () => {
    const { topic, checked } = await setup();
    const records = Array.from({ length: 600 }, (_, i) => logEnvelope(i, 2_400));
    for (const record of records) await spool!.append(record);
    expect((await listSegments(spool!.dir)).length).toBeGreaterThan(3);
    const running = await begin(topic, checked.producer);
    const topicReader = await readTopic(topic);
    reader = topicReader;

    await waitFor('every record in the topic', () => topicReader.values.length >= records.length);
    expect(topicReader.values.map((v) => v.toString('utf8'))).toEqual(records.map((r) => r.toString('utf8')));
    expect(checked.refused).toEqual([]);
    expect(checked.requests.length).toBeGreaterThan(1);
    for (const bytes of checked.requests) expect(bytes).toBeLessThanOrEqual(FORWARD_BATCH_BYTES);
    await waitFor('forwarded segments removed', async () => (await listSegments(spool!.dir)).length === 1);
    expect(running.stats()).toMatchObject({ forwarded: 600, deadLettered: 0, lagRecords: 0, failing: false });
  });

  it('one hostile record over the broker limit: dead-lettered (scrubbed, 0600, reason), every record after it forwarded in order', async () => {
    const { topic, checked } = await setup();
    const before = [0, 1, 2].map((i) => logEnvelope(i, 100));
    // Incompressible and over the broker's limit even alone: no split or gzip can make it fit.
    const hostile = Buffer.from(
      JSON.stringify({
        v: 1,
        app: 'web',
        receivedAt: 1,
        logs: [
          {
            id: 'big',
            ts: 1,
            level: 'error',
            service: 'api',
            message: 'password=hunter2 ' + randomBytes(900_000).toString('base64'),
          },
        ],
      }),
    );
    const after = Array.from({ length: 300 }, (_, i) => logEnvelope(10 + i, 2_400));
    for (const record of [...before, hostile, ...after]) await spool!.append(record);
    const running = await begin(topic, checked.producer);
    const topicReader = await readTopic(topic);
    reader = topicReader;

    const expected = [...before, ...after].map((r) => r.toString('utf8'));
    await waitFor('every other record in the topic', () => topicReader.values.length >= expected.length);
    expect(topicReader.values.map((v) => v.toString('utf8'))).toEqual(expected);
    expect(checked.refused.length).toBeGreaterThan(0);
    await waitFor('no lag', () => running.stats().lagRecords === 0);
    expect(running.stats()).toMatchObject({ forwarded: expected.length, deadLettered: 1, failing: false });
    expect(running.stats().lastError).toMatch(/max message size/);
    await waitFor('forwarded segments removed', async () => (await listSegments(spool!.dir)).length === 1);

    const root = path.join(tmp.dir, 'dead-letter', 'kafka-forward');
    const [day] = await readdir(root);
    expect(day).toBe(new Date().toISOString().slice(0, 10));
    const files = (await readdir(path.join(root, day!))).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^server-\d{10}-\d{12}\.payload$/);
    expect(files[1]).toBe(files[0]!.replace('.payload', '.reason.json'));
    for (const file of files) expect((await stat(path.join(root, day!, file))).mode & 0o777).toBe(0o600);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    const reason = JSON.parse(await readFile(path.join(root, day!, files[1]!), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(reason).toMatchObject({
      consumer: 'kafka-forward',
      code: 'kafka_refused',
      spool: 'server',
      topic,
    });
    expect(reason.reason).toMatch(/^MESSAGE_TOO_LARGE: /);
    expect(reason.payload).toMatchObject({ format: 'json', bytes: hostile.length, truncated: false });
    const copy = await readFile(path.join(root, day!, files[0]!), 'utf8');
    expect(copy).not.toContain('hunter2');
    expect((JSON.parse(copy) as { logs: Array<{ id: string }> }).logs[0]!.id).toBe('big');
  });

  it('a retriable failure is not a refusal: the same records again after the backoff, nothing dead-lettered', async () => {
    const { topic, checked } = await setup();
    let failuresLeft = 2;
    const flaky = {
      ...checked.producer,
      send: async (record: ProducerRecord) => {
        if (failuresLeft-- > 0)
          throw new kafkajs.KafkaJSProtocolError({
            type: 'NOT_LEADER_FOR_PARTITION',
            code: 6,
            retriable: true,
            message: 'not the leader',
          } as unknown as Error);
        return checked.producer.send(record);
      },
    } as Producer;
    const records = [0, 1, 2].map((i) => logEnvelope(i, 10));
    for (const record of records) await spool!.append(record);
    const running = await begin(topic, flaky);
    await waitFor('forwarded after two failures', () => running.stats().forwarded === 3);
    expect(running.stats()).toMatchObject({ failures: 2, deadLettered: 0, lagRecords: 0 });
  });
});

describe('record keys from the envelope head', () => {
  const reference = (payload: Buffer, kind: 'client' | 'server'): string | undefined => {
    const e = JSON.parse(payload.toString('utf8')) as {
      app: string;
      batch?: { session?: string };
      logs?: Array<{ service?: string; trace?: string }>;
    };
    return kafkaRecordKey(
      e.app,
      kind === 'client' ? e.batch?.session : (e.logs?.[0]?.service ?? e.logs?.[0]?.trace),
    );
  };

  it('match a full parse for the envelopes the collector writes, escapes and unicode included', () => {
    const clients = [
      {
        v: 1,
        app: 'web',
        receivedAt: 1,
        userAgent: 'Mozilla "x" \\ y',
        batch: { v: 1, batchId: 'b', session: 'sé"s\u2028', events: [] },
      },
      {
        v: 1,
        app: 'api',
        receivedAt: 1,
        batch: {
          v: 1,
          batchId: 'b',
          meta: { session: 'nested' },
          session: 's1',
          events: [{ session: 'no' }],
        },
      },
      { v: 1, app: 'web', receivedAt: 1, batch: { v: 1, batchId: 'b', events: [] } },
    ];
    for (const c of clients) {
      const payload = Buffer.from(JSON.stringify(c));
      expect(clientRecordKey(payload)).toBe(reference(payload, 'client'));
    }
    // The raw batch bytes as the SDK sent them (whitespace kept by envelopeAround).
    const spaced = Buffer.from(
      '{"v":1,"app":"web","receivedAt":1,"batch": { "v" : 1 , "x": [1, {"a":"}"}], "session" : "s9" }}',
    );
    expect(clientRecordKey(spaced)).toBe('web/s9');
    const servers = [
      {
        v: 1,
        app: 'web',
        receivedAt: 1,
        logs: [
          { id: 'a', service: 'api' },
          { id: 'b', service: 'other' },
        ],
      },
      { v: 1, app: 'web', receivedAt: 1, logs: [{ id: 'a', trace: 't-1' }] },
      { v: 1, app: 'web', receivedAt: 1, logs: [] },
    ];
    for (const s of servers) {
      const payload = Buffer.from(JSON.stringify(s));
      expect(serverRecordKey(payload)).toBe(reference(payload, 'server'));
    }
  });

  it('fall back to the app when the session lies beyond the scanned head, and to no key for bytes that are not an envelope', () => {
    const late = Buffer.from(
      JSON.stringify({
        v: 1,
        app: 'web',
        receivedAt: 1,
        batch: { events: ['x'.repeat(100_000)], session: 's' },
      }),
    );
    expect(clientRecordKey(late)).toBe('web');
    expect(clientRecordKey(Buffer.from('not json'))).toBeUndefined();
    expect(serverRecordKey(Buffer.from('{"v":1,"app":'))).toBeUndefined();
  });
});
