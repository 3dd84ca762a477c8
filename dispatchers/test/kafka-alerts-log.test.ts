import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaTopics } from '@telltale/protocol';
import {
  type AlertRecord,
  kafkaAlertLog,
  startAlertLogView,
  type AlertLogView,
} from '../src/alerts/index.js';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';

const DAY = 86_400_000;

function record(
  key: string,
  status: AlertRecord['status'],
  createdAt: string,
  extra: Partial<AlertRecord> = {},
) {
  const kind = key.split(':')[0] as AlertRecord['kind'];
  return {
    key,
    kind,
    app: 'shop',
    subject: `[Telltale] ${key}`,
    createdAt,
    status,
    transport: 'smtp',
    ...extra,
  } satisfies AlertRecord;
}

describe('the Kafka-backed alert log on the mock cluster', () => {
  let mock: KafkaMockCluster;
  let kafka: kafkajs.Kafka;
  let admin: kafkajs.Admin;
  let producer: kafkajs.Producer;
  const views: AlertLogView[] = [];
  const topic = kafkaTopics('log-test.').alertLog;

  beforeAll(async () => {
    mock = await startKafkaMock();
    kafka = new kafkajs.Kafka({
      brokers: [mock.bootstrap],
      clientId: 'log-test',
      logLevel: kafkajs.logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: true });
    await producer.connect();
  });
  afterAll(async () => {
    for (const v of views) await v.close();
    await producer?.disconnect();
    await admin?.disconnect();
    await mock?.stop();
  });

  async function newView(): Promise<AlertLogView> {
    const v = await startAlertLogView({ kafka, admin, topic, groupPrefix: `log-test-${views.length}.` });
    views.push(v);
    return v;
  }

  it('a new owner rebuilds the partition from Kafka on assignment: the same alerts, pending ones with their body', async () => {
    const writer = await newView();
    await writer.caughtUp([1], 30_000);
    const log = kafkaAlertLog({ producer, topic, state: writer.partition(1) });
    const now = new Date().toISOString();
    await log.append([
      record('new-error:shop:p1', 'pending', now, { text: 'the email', messageId: '<m@t>' }),
      record('first-feature:shop:export', 'pending', now, { text: 'f' }),
    ]);
    await log.append([record('new-error:shop:p1', 'sent', now, { sentAt: now })]);
    // Bigger than one record batch may be (~1 MB): split, every line lands.
    const big = Array.from({ length: 40 }, (_, i) =>
      record(`new-assert:shop:a${i}`, 'pending', now, { text: 'x'.repeat(40_000) }),
    );
    await log.append(big);
    expect(log.get('new-error:shop:p1')?.status).toBe('sent');

    const owner = await newView();
    await owner.caughtUp([1], 30_000);
    const rebuilt = kafkaAlertLog({ producer, topic, state: owner.partition(1) });
    expect(rebuilt.list()).toEqual(log.list());
    expect(
      rebuilt
        .pending()
        .map((r) => r.key)
        .sort(),
    ).toEqual(['first-feature:shop:export', ...big.map((r) => r.key)].sort());
    expect(rebuilt.get('new-assert:shop:a7')?.text).toHaveLength(40_000);
    // Other partitions hold none of it: ownership of partition 1 is ownership of these keys.
    await owner.caughtUp([0, 2, 3], 30_000);
    expect([0, 2, 3].some((p) => owner.partition(p).index.has('new-error:shop:p1'))).toBe(false);
  });

  it('retention writes a key-only marker over an expired alert: the next owner still finds the key decided', async () => {
    const writer = await newView();
    await writer.caughtUp([3], 30_000);
    const log = kafkaAlertLog({ producer, topic, state: writer.partition(3) });
    const old = new Date(Date.now() - 100 * DAY).toISOString();
    await log.append([
      record('new-error:shop:ancient', 'sent', old),
      record('new-error:shop:fresh', 'pending', new Date().toISOString()),
    ]);
    expect(log.hasExpired(Date.now() - 90 * DAY)).toBe(true);
    expect(await log.compact({ retainSince: Date.now() - 90 * DAY })).toMatchObject({ expired: 1 });

    const owner = await newView();
    await owner.caughtUp([3], 30_000);
    const rebuilt = kafkaAlertLog({ producer, topic, state: owner.partition(3) });
    expect(rebuilt.has('new-error:shop:ancient')).toBe(true);
    expect(rebuilt.get('new-error:shop:ancient')).toBeUndefined();
    expect(rebuilt.list().map((r) => r.key)).toEqual(['new-error:shop:fresh']);
    expect(rebuilt.size()).toMatchObject({ records: 1, seen: 1 });
  });
});
