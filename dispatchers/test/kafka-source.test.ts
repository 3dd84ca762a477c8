import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { waitFor } from '../../test-support/wait.js';
import {
  createConsumer,
  openKafkaSource,
  type KafkaPosition,
  type KafkaRecordSource,
  type KafkaSourceOptions,
  type Consumer,
  type HandleResult,
  type SourceRecord,
} from '../src/pipeline/index.js';

let mock: KafkaMockCluster;
let kafka: Kafka;
let producer: Producer;
let topicCount = 0;

beforeAll(async () => {
  mock = await startKafkaMock();
  kafka = new kafkajs.Kafka({ brokers: [mock.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await mock?.stop();
});

/** Fast rebalances: the tests wait for takeovers, not for production's 30 s session timeout. */
const TIMINGS = {
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10_000,
  waitTickMs: 100,
};

async function produce(topic: string, from: number, count: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `record-${from + i}`);
  await producer.send({
    topic,
    acks: -1,
    messages: values.map((value, i) => ({ key: `key-${(from + i) % 13}`, value })),
  });
  return values;
}

interface Member {
  consumer: Consumer<KafkaPosition>;
  source: () => KafkaRecordSource | undefined;
  handled: string[];
}

function member(
  topic: string,
  groupId: string,
  handle: (records: SourceRecord<KafkaPosition>[]) => Promise<HandleResult> = async () => 'done',
  paused?: () => boolean,
  instance?: string,
  extra: Pick<KafkaSourceOptions, 'beforeBatch' | 'timings'> = {},
): Member {
  const handled: string[] = [];
  let source: KafkaRecordSource | undefined;
  const listeners = new Set<() => void>();
  const consumer = createConsumer<KafkaPosition>({
    name: groupId,
    openSource: async () =>
      (source = await openKafkaSource({
        kafka,
        groupId,
        topic,
        onRecords: () => listeners.forEach((l) => l()),
        ...(paused ? { paused } : {}),
        ...(instance ? { instance } : {}),
        ...extra,
        timings: { ...TIMINGS, ...extra.timings },
      })),
    handle: async (records) => {
      const result = await handle(records);
      if (result === 'done') handled.push(...records.map((r) => r.payload.toString('utf8')));
      return result;
    },
    batchSize: 50,
    pollMs: 50,
    notify: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    backoff: { baseMs: 50, multiplier: 2, capMs: 200, jitter: 0 },
  });
  return { consumer, source: () => source, handled };
}

async function committedTotal(groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

const fresh = (): { topic: string; group: string } => {
  topicCount += 1;
  return { topic: `src-test-${topicCount}`, group: `src-group-${topicCount}` };
};

describe('Kafka RecordSource (librdkafka mock cluster)', () => {
  it('two members split the partitions; when one leaves the other takes every partition and nothing is lost', async () => {
    const { topic, group } = fresh();
    const sent = await produce(topic, 0, 200);
    const a = member(topic, group);
    const b = member(topic, group);
    await a.consumer.start();
    await b.consumer.start();
    try {
      await waitFor('both members own partitions', () => {
        const pa = a.source()?.stats().partitions ?? [];
        const pb = b.source()?.stats().partitions ?? [];
        return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4;
      });
      expect(
        a
          .source()!
          .stats()
          .partitions.filter((p) => b.source()!.stats().partitions.includes(p)),
      ).toEqual([]);
      await waitFor('the first records handled', () => new Set([...a.handled, ...b.handled]).size === 200);

      await a.consumer.stop();
      await waitFor('b owns all four partitions', () => b.source()?.stats().partitions.length === 4);
      sent.push(...(await produce(topic, 200, 200)));
      await waitFor(
        'every record handled at least once',
        () => new Set([...a.handled, ...b.handled]).size === sent.length,
      );
      expect(new Set([...a.handled, ...b.handled])).toEqual(new Set(sent));
      await waitFor(
        'b committed everything',
        async () => (await committedTotal(group, topic)) === sent.length,
      );
    } finally {
      await a.consumer.stop();
      await b.consumer.stop();
    }
  });

  it('commits only after the handler said done: retried and abandoned records go to the next member', async () => {
    const { topic, group } = fresh();
    const sent = await produce(topic, 0, 40);
    let attempts = 0;
    const failing = member(topic, group, async () => {
      attempts += 1;
      return 'retry';
    });
    await failing.consumer.start();
    try {
      await waitFor('several failed attempts', () => attempts >= 5);
      expect(await committedTotal(group, topic)).toBe(0);
      expect(failing.consumer.stats().retries).toBeGreaterThanOrEqual(4);
    } finally {
      await failing.consumer.stop();
    }
    // Nothing was committed: a new member of the group gets every record again.
    const next = member(topic, group);
    await next.consumer.start();
    try {
      await waitFor(
        'all records handled by the next member',
        () => new Set(next.handled).size === sent.length,
      );
      await waitFor('and committed', async () => (await committedTotal(group, topic)) === sent.length);
    } finally {
      await next.consumer.stop();
    }
  });

  it('stops fetching while paused (the sink breaker is open) and catches up once resumed', async () => {
    const { topic, group } = fresh();
    await produce(topic, 0, 20);
    let open = false;
    const m = member(
      topic,
      group,
      async () => 'done',
      () => open,
    );
    await m.consumer.start();
    try {
      await waitFor('the first records', () => m.handled.length === 20);
      open = true;
      await waitFor('paused', () => m.source()?.stats().paused === true);
      await produce(topic, 20, 30);
      // A negative check has nothing to poll for: give it several fetch rounds (maxWait 250 ms) it must not use.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(m.handled.length).toBe(20);
      expect(m.source()!.stats().queued).toBe(0);
      open = false;
      await waitFor('resumed and caught up', () => m.handled.length === 50);
      expect(m.source()!.stats().paused).toBe(false);
    } finally {
      await m.consumer.stop();
    }
  });

  it('gives each process the same partitions in every group of a topic (one decode per record per process)', async () => {
    const { topic, group } = fresh();
    await produce(topic, 0, 8);
    const members = ['process-a', 'process-b'].flatMap((instance) =>
      [`${group}-sink`, `${group}-alerts`].map((g) => ({
        instance,
        g,
        m: member(topic, g, undefined, undefined, instance),
      })),
    );
    for (const { m } of members) await m.consumer.start();
    try {
      const owned = (instance: string, g: string): number[] =>
        members
          .find((x) => x.instance === instance && x.g === g)!
          .m.source()
          ?.stats().partitions ?? [];
      await waitFor('both groups settled with two members each', () =>
        members.every(({ m }) => (m.source()?.stats().partitions.length ?? 0) === 2),
      );
      for (const instance of ['process-a', 'process-b'])
        expect(owned(instance, `${group}-alerts`)).toEqual(owned(instance, `${group}-sink`));
    } finally {
      await Promise.all(members.map(({ m }) => m.consumer.stop()));
    }
  });

  it('a consumer that crashes on a non-retriable error is replaced: every record handled once, connected again', async () => {
    const { topic, group } = fresh();
    const sent = await produce(topic, 0, 120);
    let injected = 0;
    const m: Member = member(topic, group, undefined, undefined, undefined, {
      // Every batch of the first consumer fails the way a protocol error kafkajs cannot retry does
      // (CRASH with restart=false), so none of its records reach the handler.
      beforeBatch: () => {
        if ((m.source()?.stats().restarts ?? 0) > 0) return;
        injected += 1;
        throw new kafkajs.KafkaJSNonRetriableError('injected: the broker is incompatible');
      },
      timings: { restartBaseMs: 2_000 },
    });
    await m.consumer.start();
    try {
      const cause = await waitFor('the crash reported while the member is replaced', () => {
        const stats = m.source()?.stats();
        return stats?.connected === false && stats.lastError?.includes('injected') ? stats : undefined;
      });
      expect(cause.restarts).toBe(0);
      await waitFor('a new member joined', () => m.source()?.stats().connected === true, 60_000);
      sent.push(...(await produce(topic, 120, 80)));
      await waitFor(
        'every record committed',
        async () => (await committedTotal(group, topic)) === sent.length,
      );
      expect(injected).toBeGreaterThan(0);
      // Exactly once: the dead member handed nothing out, the new one read from the last commit.
      expect([...m.handled].sort()).toEqual([...sent].sort());
      const stats = m.source()!.stats();
      expect(stats).toMatchObject({ restarts: 1, connected: true, lastError: undefined, queued: 0 });
      expect(stats.partitions).toEqual([0, 1, 2, 3]);
    } finally {
      await m.consumer.stop();
    }
  });

  it('a member that keeps crashing is replaced again and again, and stop() does not wait out the backoff', async () => {
    const { topic, group } = fresh();
    await produce(topic, 0, 10);
    const m = member(topic, group, undefined, undefined, undefined, {
      beforeBatch: () => {
        throw new kafkajs.KafkaJSNonRetriableError('injected: always');
      },
      // The first replacement comes after 2.5-5 s, the second after 5-10 s: stop() comes before it.
      timings: { restartBaseMs: 5_000, restartCapMs: 60_000 },
    });
    await m.consumer.start();
    let stopped = false;
    try {
      await waitFor(
        'replaced at least once and crashed again',
        () => {
          const stats = m.source()?.stats();
          return stats !== undefined && stats.restarts >= 1 && !stats.connected;
        },
        60_000,
      );
      expect(m.handled).toEqual([]);
      const began = Date.now();
      await m.consumer.stop();
      stopped = true;
      expect(Date.now() - began).toBeLessThan(4_000);
    } finally {
      if (!stopped) await m.consumer.stop();
    }
  });

  it('members that subscribe before the topic exists get its partitions once it is auto-created', async () => {
    const { topic, group } = fresh();
    const members = ['process-a', 'process-b', 'process-c', 'process-d', 'process-e'].map((instance) =>
      member(topic, group, undefined, undefined, instance),
    );
    // Started together: the first join sees the topic created a moment ago (metadata may still be empty).
    await Promise.all(members.map((m) => m.consumer.start()));
    try {
      await waitFor(
        'the four partitions owned once, one member left without any',
        () => {
          const owned = members.map((m) => m.source()?.stats().partitions ?? []);
          const all = owned.flat().sort();
          return all.join() === '0,1,2,3' && owned.filter((o) => o.length === 0).length === 1;
        },
        60_000,
      );
      const idle = members.find((m) => m.source()!.stats().partitions.length === 0)!;
      // The member without partitions is connected and error-free once the group settled (a join
      // that raced the topic's creation may report it for a moment: it must clear, not stay).
      await waitFor(
        'the member without partitions connected, with no error',
        () => {
          const stats = idle.source()!.stats();
          return stats.connected && stats.lastError === undefined && stats.partitions.length === 0;
        },
        30_000,
      );
      expect(idle.source()!.stats()).toMatchObject({ connected: true, lastError: undefined });
      const sent = await produce(topic, 0, 60);
      await waitFor(
        'every record handled once',
        () => members.flatMap((m) => m.handled).length === sent.length,
        30_000,
      );
      expect(members.flatMap((m) => m.handled).sort()).toEqual([...sent].sort());
      expect(idle.handled).toEqual([]);
    } finally {
      await Promise.all(members.map((m) => m.consumer.stop()));
    }
  });
});
