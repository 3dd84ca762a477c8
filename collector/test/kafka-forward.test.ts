import { gzipSync } from 'node:zlib';
import kafkajs, { type Consumer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kafkaTopics, type KafkaSettings, type SpoolEnvelope } from '@telltale/protocol';
import { listSegments } from '@telltale/spool';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { waitFor } from '../../test-support/wait.js';
import { startCollectorServer, type RunningCollector } from '../src/index.js';
import { APPS, API_KEY, makeBatch, tempDir, WEB_KEY, WEB_SECRET } from './helpers.js';

interface Seen {
  key: string | null;
  value: Buffer;
}

let mock: KafkaMockCluster;
let prefixCount = 0;
beforeAll(async () => {
  mock = await startKafkaMock();
});
afterAll(async () => {
  await mock?.stop();
});

/** Every message of `topic` from the beginning, in a throwaway group, until `stop()`. */
async function readTopic(bootstrap: string, topic: string): Promise<{ seen: Seen[]; stop(): Promise<void> }> {
  const kafka = new kafkajs.Kafka({ brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  const seen: Seen[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push({ key: message.key?.toString('utf8') ?? null, value: message.value ?? Buffer.alloc(0) });
    },
  });
  return { seen, stop: () => consumer.disconnect() };
}

async function post(url: string, body: unknown, key = WEB_KEY): Promise<number> {
  const res = await fetch(`${url}/v1/batch?key=${key}`, {
    method: 'POST',
    body: gzipSync(JSON.stringify(body)),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('collector → Kafka forwarder (librdkafka mock cluster)', () => {
  let collector: RunningCollector | undefined;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let settings: KafkaSettings;
  const readers: Array<{ stop(): Promise<void> }> = [];

  const start = async (spoolMaxBytes = 1024 * 1024): Promise<RunningCollector> =>
    (collector = await startCollectorServer({
      port: 0,
      dataDir: tmp.dir,
      kafka: settings,
      // No per-app share of the cap: the disk-cap test fills the spool with one app. Rate limits off:
      // these tests post hundreds of batches a second from one address (a quiet machine got 429s).
      config: {
        apps: APPS,
        storage: { spoolMaxBytes },
        quotas: { spoolShare: 0 },
        rateLimits: { perKey: { perSecond: 0 }, perIp: { perSecond: 0 } },
      },
      env: {},
    }));

  const setup = async (): Promise<void> => {
    tmp = await tempDir();
    prefixCount += 1;
    // A topic prefix per test: the mock cluster is shared by the file.
    settings = {
      brokers: [mock.bootstrap],
      clientId: 'collector-test',
      topicPrefix: `t${prefixCount}.`,
      idempotent: false,
    };
  };

  afterEach(async () => {
    mock.thaw();
    await collector?.close();
    collector = undefined;
    for (const reader of readers.splice(0)) await reader.stop();
    await tmp.remove();
  });

  it('produces each spool record unchanged, keyed by app and session, then removes forwarded segments', async () => {
    await setup();
    const running = await start(256 * 1024);
    const batches = Array.from({ length: 200 }, (_, i) => makeBatch({ session: `s-${i % 7}` }));
    for (const batch of batches)
      expect(await post(running.url, batch, batch.session === 's-3' ? API_KEY : WEB_KEY)).toBe(202);
    const logs = await fetch(`${running.url}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WEB_SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ ts: Date.now(), level: 'info', message: 'hello', service: 'api' }]),
    });
    expect(logs.status).toBe(202);

    const topics = kafkaTopics(settings.topicPrefix);
    const client = await readTopic(mock.bootstrap, topics.client);
    const server = await readTopic(mock.bootstrap, topics.server);
    readers.push(client, server);
    await waitFor('every batch in the client topic', () => client.seen.length >= batches.length);
    await waitFor('the log envelope in the server topic', () => server.seen.length >= 1);

    const envelopes = client.seen.map((m) => JSON.parse(m.value.toString('utf8')) as SpoolEnvelope);
    expect(envelopes.map((e) => e.batch.batchId).sort()).toEqual(batches.map((b) => b.batchId).sort());
    for (const [i, m] of client.seen.entries()) {
      const envelope = envelopes[i]!;
      expect(m.key).toBe(`${envelope.app}/${envelope.batch.session}`);
      expect(envelope.v).toBe(1);
    }
    expect(new Set(envelopes.filter((e) => e.batch.session === 's-3').map((e) => e.app))).toEqual(
      new Set(['api']),
    );
    expect(server.seen[0]!.key).toBe('web/api');

    // 200 batches across 32 KiB segments: forwarded, so every sealed segment is gone, the lag is nil.
    await waitFor('no lag', () => running.forwarder!.stats().lagRecords === 0);
    await waitFor(
      'forwarded segments removed',
      async () => (await listSegments(`${tmp.dir}/spool/client`)).length === 1,
    );
    const stats = running.forwarder!.stats();
    expect(stats).toMatchObject({ connected: true, forwarded: batches.length + 1, lastError: undefined });
  });

  it('Kafka frozen: requests keep getting 202 from the spool, which grows; after the thaw every record is in the topic', async () => {
    await setup();
    const running = await start(64 * 1024 * 1024);
    const topics = kafkaTopics(settings.topicPrefix);
    // One record first, so the producer is connected and the topic exists before the freeze.
    expect(await post(running.url, makeBatch({ session: 'warm' }))).toBe(202);
    await waitFor('the first record forwarded', () => running.forwarder!.stats().forwarded === 1);

    mock.freeze();
    const sent: string[] = [];
    const deadline = Date.now() + 4_000;
    for (let i = 0; i < 400 && Date.now() < deadline; i += 1) {
      const batch = makeBatch({ session: `frozen-${i % 11}` });
      expect(await post(running.url, batch)).toBe(202);
      sent.push(batch.batchId);
    }
    const during = running.forwarder!.stats();
    expect(during.lagRecords).toBe(sent.length);
    expect(during.forwarded).toBe(1);
    const held = await listSegments(`${tmp.dir}/spool/client`);
    expect(held.reduce((sum, s) => sum + s.bytes, 0)).toBeGreaterThan(sent.length * 200);

    await waitFor('the forwarder to notice', () => running.forwarder!.stats().connected === false, 30_000);
    mock.thaw();
    await waitFor('the spool drained into Kafka', () => running.forwarder!.stats().lagRecords === 0, 60_000);
    expect(running.forwarder!.stats().connected).toBe(true);

    const client = await readTopic(mock.bootstrap, topics.client);
    readers.push(client);
    const ids = (): string[] =>
      client.seen.map((m) => (JSON.parse(m.value.toString('utf8')) as SpoolEnvelope).batch.batchId);
    await waitFor('every batch read back', () => new Set(ids()).size === sent.length + 1, 30_000);
    // Every 202'd batch is there; a produce retried across the freeze may be there twice (the
    // stores dedupe on event id; the idempotent producer of a real broker prevents it).
    const counts = new Map<string, number>();
    for (const id of ids()) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const id of sent) expect(counts.get(id) ?? 0).toBeGreaterThanOrEqual(1);
  });

  it('Kafka frozen until the spool is at its disk cap: 503, nothing dropped; after the thaw it drains and takes data again', async () => {
    await setup();
    const running = await start(64 * 1024);
    expect(await post(running.url, makeBatch({ session: 'warm' }))).toBe(202);
    await waitFor('the first record forwarded', () => running.forwarder!.stats().forwarded === 1);

    mock.freeze();
    const accepted: string[] = [];
    let refused = 0;
    for (let i = 0; i < 2_000 && refused === 0; i += 1) {
      const batch = makeBatch({ session: `cap-${i % 5}` });
      const status = await post(running.url, batch);
      if (status === 202) accepted.push(batch.batchId);
      else if (status === 503) refused += 1;
      else throw new Error(`unexpected status ${status}`);
    }
    expect(refused).toBe(1);
    expect(accepted.length).toBeGreaterThan(50);

    mock.thaw();
    await waitFor('the spool drained into Kafka', () => running.forwarder!.stats().lagRecords === 0, 60_000);
    // Room again once forwarded segments are removed.
    await waitFor(
      '202 again',
      async () => (await post(running.url, makeBatch({ session: 'after' }))) === 202,
      30_000,
    );

    const client = await readTopic(mock.bootstrap, kafkaTopics(settings.topicPrefix).client);
    readers.push(client);
    const ids = (): Set<string> =>
      new Set(client.seen.map((m) => (JSON.parse(m.value.toString('utf8')) as SpoolEnvelope).batch.batchId));
    await waitFor('every accepted batch in the topic', () => accepted.every((id) => ids().has(id)), 30_000);
  });
});
