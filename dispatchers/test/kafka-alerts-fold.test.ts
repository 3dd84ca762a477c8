import { describe, expect, it } from 'vitest';
import {
  type AlertRecord,
  createLogPartition,
  foldLogRecord,
  foldOwnRecords,
  type LogPartition,
} from '../src/alerts/index.js';

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

  it("a previous owner's late line between two of ours is still folded: its sent alert is not sent again", () => {
    const state = createLogPartition(1);
    const inherited = record('new-error:shop:cc', 'pending', '2026-12-01T12:00:00.000Z', { text: 'c' });
    foldLogRecord(state, 0, JSON.stringify(inherited));
    // We own the partition now and write at offset 2; the old owner's `sent` landed at offset 1.
    foldOwnRecords(state, 2, [record('new-assert:shop:dd', 'pending', '2026-12-01T12:00:05.000Z')]);
    expect(
      state.index
        .withStatus('pending')
        .map((r) => r.key)
        .sort(),
    ).toEqual(['new-assert:shop:dd', 'new-error:shop:cc']);
    foldLogRecord(state, 1, JSON.stringify(record('new-error:shop:cc', 'sent', '2026-12-01T12:00:00.000Z')));
    foldLogRecord(
      state,
      2,
      JSON.stringify(record('new-assert:shop:dd', 'pending', '2026-12-01T12:00:05.000Z')),
    );
    expect(state.index.withStatus('pending').map((r) => r.key)).toEqual(['new-assert:shop:dd']);
    expect(state.own.size).toBe(0);
    expect(state.nextOffset).toBe(3);
  });
});
