import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { keepConsumer, type MemberLife } from '../../pipeline/index.js';
import { createAlertIndex, type AlertIndex } from '../alert-index.js';
import { isAlertRecord, isSeenMarker, type AlertRecord } from '../alert-log.js';

/** One partition of the alert-log topic, folded: its index and the offset after the last line in it. */
export interface LogPartition {
  readonly partition: number;
  readonly index: AlertIndex;
  /** Offsets below this one were read from the topic (or compacted away). */
  nextOffset: number;
  /** Offsets of lines this process wrote and folded already, not yet read back. */
  readonly own: Set<number>;
}

export function createLogPartition(partition: number): LogPartition {
  return { partition, index: createAlertIndex(), nextOffset: 0, own: new Set() };
}

/**
 * Folds one record of the topic into its partition. Each line is a whole alert summary (a `sent`
 * line repeats what the `pending` one said, minus the body), so a compacted partition — the latest
 * line per key, offsets with gaps — folds to the same state as the full history. Lines below
 * `nextOffset` were read already (a rejoin reads them again); this process's own lines were folded
 * when Kafka acknowledged them. Anyone else's line is folded, even one that landed between two of
 * ours (a previous owner's late `sent`).
 */
export function foldLogRecord(state: LogPartition, offset: number, value: Buffer | string | null): void {
  if (offset < state.nextOffset) return;
  state.nextOffset = offset + 1;
  if (state.own.delete(offset) || value === null) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    // A damaged record loses one line, not the partition (as in the local log).
    return;
  }
  if (isSeenMarker(parsed)) {
    // Retention's marker replaces the record of its key (the same key, so compaction keeps only it).
    if (state.index.get(parsed.key) !== undefined) state.index.dropExpired(new Set([parsed.key]));
    else state.index.markSeen(parsed.key);
  } else if (isAlertRecord(parsed)) state.index.merge(parsed);
}

/** Lines this process wrote itself, folded as soon as Kafka acknowledged them (at baseOffset onwards). */
export function foldOwnRecords(
  state: LogPartition,
  baseOffset: number,
  records: readonly AlertRecord[],
): void {
  for (const record of records) state.index.merge(record);
  markOwn(state, baseOffset, records.length);
}

/** The tail skips these when it reads them back: they are in the index already. */
export function markOwn(state: LogPartition, baseOffset: number, count: number): void {
  for (let i = 0; i < count; i += 1) if (baseOffset + i >= state.nextOffset) state.own.add(baseOffset + i);
}

export interface AlertLogView {
  partition(partition: number): LogPartition;
  all(): LogPartition[];
  /** True when some partition holds the key: it was decided by someone, once and for all. */
  has(key: string): boolean;
  /**
   * Resolves once every line below the partitions' high watermarks (as of now) is folded: what an
   * owner must know before it decides anything. The newest line of a key is never compacted and
   * the log writes no tombstones, so a partition's last offset always holds a line to wait for.
   */
  caughtUp(partitions: readonly number[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every partition of the alert-log topic, read from the start and then tailed, by a consumer of a
 * group of its own (kafkajs cannot assign partitions by hand; a fresh group with one member gets
 * them all). It serves the owners' logs, the skip cache of the candidates sink and the listing.
 * A consumer that kafkajs leaves stopped (a non-retriable error) is replaced (pipeline/sources/kafka/keeper.ts).
 */
export async function startAlertLogView(options: {
  kafka: Kafka;
  admin: Admin;
  topic: string;
  groupPrefix: string;
}): Promise<AlertLogView> {
  const { topic, admin } = options;
  const partitions = new Map<number, LogPartition>();
  const listeners = new Set<() => void>();
  const partition = (p: number): LogPartition => {
    let state = partitions.get(p);
    if (state === undefined) partitions.set(p, (state = createLogPartition(p)));
    return state;
  };
  // Never committed: each start (and each replacement of a dead member) reads the whole (compacted)
  // topic again; what was folded already is skipped by offset.
  const groupId = `${options.groupPrefix}alert-log-view-${randomUUID()}`;
  let keeperGeneration = (): number => 1;
  function build(generation: number, life: MemberLife): Consumer {
    const consumer = options.kafka.consumer({ groupId, allowAutoTopicCreation: true });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs leaves it stopped after a non-retriable error: the keeper builds a new one.
      if (keeperGeneration() === generation && payload.restart === false) life.died(payload.error);
    });
    return consumer;
  }
  async function begin(consumer: Consumer, generation: number): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }: EachBatchPayload) => {
        if (keeperGeneration() !== generation) return;
        const state = partition(batch.partition);
        for (const message of batch.messages) foldLogRecord(state, Number(message.offset), message.value);
        for (const listener of listeners) listener();
        await heartbeat();
      },
    });
  }
  const keeper = await keepConsumer({
    build,
    begin,
    backoff: { baseMs: 1_000, multiplier: 2, capMs: 30_000, jitter: 0.5 },
    onDeath: () => undefined,
    // A replacement that cannot begin is tried again after the next backoff; caughtUp() times out meanwhile.
    onError: () => undefined,
  });
  keeperGeneration = () => keeper.generation();

  async function caughtUp(wanted: readonly number[], timeoutMs: number): Promise<void> {
    const offsets = await admin.fetchTopicOffsets(topic);
    const targets = offsets
      .filter((o) => wanted.includes(o.partition))
      .map((o) => ({ state: partition(o.partition), high: Number(o.high) }));
    const done = (): boolean => targets.every((t) => t.state.nextOffset >= t.high);
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(check);
        const behind = targets.filter((t) => t.state.nextOffset < t.high).map((t) => t.state.partition);
        reject(
          new Error(`alert log partitions ${behind.join(', ')} of ${topic} not read within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve();
      };
      listeners.add(check);
    });
  }

  return {
    partition,
    all: () => [...partitions.values()].sort((a, b) => a.partition - b.partition),
    has: (key) => [...partitions.values()].some((p) => p.index.has(key)),
    caughtUp,
    close: () => keeper.close(),
  };
}
