import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaTopics } from '@telltale/protocol';
import type { AlertRecord } from '../src/alerts/alert-log.js';
import { kafkaAlertLog } from '../src/alerts/kafka/kafka-log.js';
import {
  createLogPartition,
  foldLogRecord,
  foldOwnRecords,
  startAlertLogView,
  type AlertLogView,
  type LogPartition,
} from '../src/alerts/kafka/log-view.js';
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

/** What a user sees of a partition: the listing, the pending alerts, and which keys count as decided. */
function view(state: LogPartition, keys: readonly string[]) {
  return {
    list: state.index.list(),
    pending: state.index.withStatus('pending').map((r) => r.key),
    decided: keys.filter((k) => state.index.has(k)),
  };
}

describe('the Kafka-backed alert log: folding a partition', () => {
  // One partition's history: each alert's lines, in offset order.
  const history: Array<[number, AlertRecord | { key: string; seen: true } | string]> = [
    [
      0,
      record('new-error:shop:aa', 'pending', '2026-12-01T10:00:00.000Z', { text: 'body', html: '<p>b</p>' }),
    ],
    [1, record('first-feature:shop:export', 'pending', '2026-12-01T10:00:01.000Z', { text: 'x' })],
    [
      2,
      record('new-error:shop:aa', 'sent', '2026-12-01T10:00:00.000Z', { sentAt: '2026-12-01T10:00:02.000Z' }),
    ],
    [3, record('new-assert:shop:total', 'deferred', '2026-12-01T10:00:03.000Z', { digest: 'digest:x/p2' })],
    [4, '{"torn'],
    [5, record('new-assert:shop:total', 'digested', '2026-12-01T10:00:03.000Z', { digest: 'digest:x/p2' })],
    [6, record('new-error:shop:old', 'sent', '2026-09-01T10:00:00.000Z')],
    [7, { key: 'new-error:shop:old', seen: true }],
  ];
  const keys = [
    'new-error:shop:aa',
    'first-feature:shop:export',
    'new-assert:shop:total',
    'new-error:shop:old',
  ];
  const fold = (lines: typeof history): LogPartition => {
    const state = createLogPartition(2);
    for (const [offset, value] of lines)
      foldLogRecord(state, offset, typeof value === 'string' ? value : JSON.stringify(value));
    return state;
  };

  it('a compacted partition (latest line per key, offsets with gaps) folds to the same alerts as the full history', () => {
    const full = fold(history);
    // What log compaction leaves: the last line of each key, at its original offset.
    const last = new Map<string, (typeof history)[number]>();
    for (const line of history) if (typeof line[1] !== 'string') last.set(line[1].key, line);
    const compacted = fold([...last.values()].sort((x, y) => x[0] - y[0]));
    expect(view(compacted, keys)).toEqual(view(full, keys));
    expect(view(full, keys)).toEqual({
      list: [
        expect.objectContaining({ key: 'new-assert:shop:total', status: 'digested' }),
        expect.objectContaining({ key: 'first-feature:shop:export', status: 'pending' }),
        expect.objectContaining({ key: 'new-error:shop:aa', status: 'sent' }),
      ],
      pending: ['first-feature:shop:export'],
      // Retention's marker: the old error stays decided, without its record.
      decided: keys,
    });
    expect(full.nextOffset).toBe(8);
    // A pending alert keeps its body for the next owner to send.
    expect(full.index.get('first-feature:shop:export')?.text).toBe('x');
  });

  it('lines read again (a rejoin, or the tail catching up on our own writes) never move an alert back', () => {
    const state = createLogPartition(0);
    const pending = record('new-error:shop:bb', 'pending', '2026-12-01T11:00:00.000Z', { text: 'b' });
    const sent = record('new-error:shop:bb', 'sent', '2026-12-01T11:00:00.000Z');
    // Our own appends, acknowledged at offsets 10 and 11 (after others' lines 0-9, read before).
    state.nextOffset = 10;
    foldOwnRecords(state, 10, [pending]);
    foldOwnRecords(state, 11, [sent]);
    // The tail then delivers the same two lines.
    foldLogRecord(state, 10, JSON.stringify(pending));
    foldLogRecord(state, 11, JSON.stringify(sent));
    expect(state.index.get('new-error:shop:bb')?.status).toBe('sent');
    expect(state.index.withStatus('pending')).toEqual([]);
    expect(state.nextOffset).toBe(12);
  });
});

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
