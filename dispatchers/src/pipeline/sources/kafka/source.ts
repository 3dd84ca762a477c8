import type { Consumer as KafkaConsumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { BackoffPolicy } from '../../retry.js';
import type { RecordSource, SourceRecord } from '../types.js';
import { colocatedAssigner } from './assigner.js';
import { keepConsumer, type ConsumerKeeper, type MemberLife } from './keeper.js';
import { KAFKA_CONSUMER_TIMINGS, type KafkaConsumerTimings } from './timings.js';

/**
 * Where a consumer is in one topic. For a record: its own partition and offset (one entry). For
 * `next` and `committed()`: per partition, the offset of the next record to read, i.e. what to commit.
 */
export interface KafkaPosition {
  readonly topic: string;
  readonly offsets: Readonly<Record<string, string>>;
}

export interface KafkaSourceStats {
  groupId: string;
  topic: string;
  /** Partitions this member owns now (after the last rebalance). */
  partitions: number[];
  /** Records fetched but not yet handed to the consumer loop. */
  queued: number;
  /** Records in the owned partitions after the committed offsets (from each fetch's high watermark). */
  lag: number;
  /** Times this member joined the group (1 after start; each rebalance adds one). */
  joins: number;
  /** Consumers built to replace one that kafkajs would not restart (a non-retriable error). */
  restarts: number;
  /** Commits that the group refused because it was rebalancing: those records are delivered again. */
  staleCommits: number;
  /** Fetching stopped because the sink's breaker is open. */
  paused: boolean;
  /** Joined the group (and not crashed or disconnected since). */
  connected: boolean;
  /** Why it is not connected (a crash, a failed replacement, a refused commit); cleared by the next join. */
  lastError: string | undefined;
}

export interface KafkaRecordSource extends RecordSource<KafkaPosition> {
  stats(): KafkaSourceStats;
}

export interface KafkaSourceOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  /** Called when fetched records are waiting, so the consumer loop reads at once instead of at its next poll. */
  onRecords?: () => void;
  /** True while the sink cannot take anything (breaker open): fetching is paused until it returns false. */
  paused?: () => boolean;
  timings?: Partial<KafkaConsumerTimings>;
  /** The process this member belongs to, for the co-located assignment (default: this process). */
  instance?: string;
  /**
   * Called with each fetched batch before it is queued; what it throws goes to kafkajs as eachBatch's
   * error (fault injection: a KafkaJSNonRetriableError crashes the consumer for good).
   */
  beforeBatch?: (payload: EachBatchPayload) => void | Promise<void>;
}

/** What the group coordinator answers a member that is out of date; its partitions are someone else's now. */
const REBALANCING = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
]);
const isRebalancing = (error: unknown): boolean =>
  REBALANCING.has((error as { type?: string } | null)?.type ?? '');

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Fetched {
  partition: number;
  message: KafkaMessage;
  batch: BatchState;
}

interface BatchState {
  partition: number;
  /** Messages of the batch not yet taken by read(). */
  left: number;
  dropped: boolean;
  taken: () => void;
}

/**
 * One member of a consumer group on one topic, behind the RecordSource seam. kafkajs pushes
 * (eachBatch); the seam pulls (read). eachBatch queues its batch and waits, heartbeating, until
 * read() has handed every record of it to the consumer loop; only then does it resolve the batch's
 * offsets (kafkajs's in-memory fetch position) and return, so memory holds at most one fetch ahead.
 * Offsets are committed by commit() alone, after the handler said `done` (autoCommit off). A batch
 * whose partition went elsewhere (rebalance, stop, crash) is dropped from the queue unresolved: its
 * new owner reads it again from the last commit. A consumer that kafkajs leaves stopped (a
 * non-retriable error) is replaced by a new member after a backoff (keeper.ts), forever until close.
 */
export async function openKafkaSource(options: KafkaSourceOptions): Promise<KafkaRecordSource> {
  const timings = { ...KAFKA_CONSUMER_TIMINGS, ...options.timings };
  const { topic, groupId } = options;
  const restartBackoff: BackoffPolicy = {
    baseMs: timings.restartBaseMs,
    multiplier: 2,
    capMs: timings.restartCapMs,
    jitter: 0.5,
  };

  let queue: Fetched[] = [];
  let head = 0;
  let closing = false;
  let paused = false;
  let connected = false;
  let lastError: string | undefined;
  let joins = 0;
  let staleCommits = 0;
  let assigned = new Set<number>();
  // Next offset per partition over what read() handed out (the `next` of the last record taken).
  let taken: Record<string, string> = {};
  let committed: Record<string, string> = {};
  const highWatermarks = new Map<number, bigint>();
  const firstSeen = new Map<number, bigint>();

  /** One member of the group; a dead one is replaced by the keeper with a new one built here. */
  function build(generation: number, life: MemberLife): KafkaConsumer {
    const consumer = options.kafka.consumer({
      groupId,
      // Round robin stays listed so a group with members of an older version still agrees on one.
      partitionAssigners: [colocatedAssigner(options.instance), kafkajs.PartitionAssigners.roundRobin],
      sessionTimeout: timings.sessionTimeoutMs,
      rebalanceTimeout: timings.rebalanceTimeoutMs,
      heartbeatInterval: timings.heartbeatIntervalMs,
      maxBytesPerPartition: timings.maxBytesPerPartition,
      maxBytes: timings.maxBytes,
      maxWaitTimeInMs: timings.maxWaitMs,
      allowAutoTopicCreation: true,
      // A crashed consumer (broker gone) restarts by itself, forever, with kafkajs's own backoff.
      retry: { retries: timings.restartRetries, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const current = (): boolean => generationNow() === generation;
    // Connected means in the group: from a join until a crash or disconnect (a rebalance keeps it).
    const { DISCONNECT, CRASH, GROUP_JOIN } = consumer.events;
    consumer.on(DISCONNECT, () => {
      if (current()) connected = false;
    });
    consumer.on(CRASH, (event) => {
      if (!current()) return;
      connected = false;
      lastError = `kafka consumer ${groupId}: ${describe(event.payload.error)}`;
      // kafkajs restarts a consumer after a retriable error only; any other leaves it stopped for good.
      if (event.payload.restart === false) life.died(event.payload.error);
    });
    consumer.on(GROUP_JOIN, (event) => {
      if (!current()) return;
      joins += 1;
      connected = true;
      lastError = undefined;
      const mine = new Set(event.payload.memberAssignment[topic] ?? []);
      // Partitions that went elsewhere: forget how far we got; their new owner starts at the last commit.
      for (const p of Object.keys(taken)) if (!mine.has(Number(p))) delete taken[p];
      for (const p of [...highWatermarks.keys()]) if (!mine.has(p)) highWatermarks.delete(p);
      firstSeen.clear();
      assigned = mine;
    });
    return consumer;
  }

  async function begin(consumer: KafkaConsumer, generation: number): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Every owned partition's batch is queued at once: one hand-over can carry all of them.
      partitionsConsumedConcurrently: timings.partitionsConcurrently,
      eachBatch: (payload) => eachBatch(payload, generation),
    });
    // A replacement while the breaker is open starts paused, like the member it replaces.
    if (paused) consumer.pause([{ topic }]);
  }

  /** The dead member's fetched records are read again from the last commit by whoever owns them next. */
  function forget(cause: unknown): void {
    connected = false;
    if (cause !== undefined) lastError = `kafka consumer ${groupId}: ${describe(cause)} (replacing it)`;
    for (const fetched of queue.slice(head)) fetched.batch.dropped = true;
    queue = [];
    head = 0;
    taken = {};
    assigned = new Set();
    highWatermarks.clear();
    firstSeen.clear();
  }

  const queued = (): number => queue.length - head;
  function drop(batch: BatchState): void {
    if (batch.dropped) return;
    batch.dropped = true;
    const kept = queue.slice(head).filter((f) => f.batch !== batch);
    queue = kept;
    head = 0;
  }

  const gone = (generation: number): boolean => closing || generationNow() !== generation;

  async function eachBatch(payload: EachBatchPayload, generation: number): Promise<void> {
    const { batch, heartbeat, isRunning, isStale, resolveOffset } = payload;
    if (batch.isEmpty() || gone(generation)) return;
    await options.beforeBatch?.(payload);
    const partition = batch.partition;
    highWatermarks.set(partition, BigInt(batch.highWatermark));
    if (!firstSeen.has(partition)) firstSeen.set(partition, BigInt(batch.firstOffset() ?? '0'));
    let release!: () => void;
    const allTaken = new Promise<void>((resolve) => (release = resolve));
    const state: BatchState = { partition, left: batch.messages.length, dropped: false, taken: release };
    for (const message of batch.messages) queue.push({ partition, message, batch: state });
    options.onRecords?.();
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const done = await Promise.race([
          allTaken.then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timings.waitTickMs))),
        ]);
        clearTimeout(timer);
        if (done) break;
        if (gone(generation) || !isRunning() || isStale()) {
          drop(state);
          return;
        }
        // Keeps the membership while the loop is busy (a slow insert, a sink backing off); throws when
        // the group rebalances, which hands control back to kafkajs to rejoin.
        await heartbeat();
      }
    } catch (error) {
      drop(state);
      throw error;
    }
    resolveOffset(batch.lastOffset());
  }

  function next(partition: number, offset: string): KafkaPosition {
    taken = { ...taken, [partition]: (BigInt(offset) + 1n).toString() };
    return { topic, offsets: taken };
  }

  // Undefined while the first consumer begins: that one is generation 1.
  let keeper: ConsumerKeeper | undefined = undefined;
  const generationNow = (): number => keeper?.generation() ?? 1;
  keeper = await keepConsumer({
    build,
    begin,
    backoff: restartBackoff,
    onDeath: forget,
    onError: (error) => {
      lastError = `kafka consumer ${groupId}: ${describe(error)} (replacing it)`;
    },
  });
  const kept = keeper;

  // The breaker is polled rather than subscribed to: the guard exposes its state, not events.
  const pauseTimer = setInterval(() => {
    const want = options.paused?.() ?? false;
    if (want === paused || closing) return;
    paused = want;
    try {
      if (want) kept.current().pause([{ topic }]);
      else kept.current().resume([{ topic }]);
    } catch {
      // A replacement not running yet: begin() pauses it when it starts.
    }
  }, timings.pauseCheckMs);
  pauseTimer.unref();

  return {
    committed: () => ({ topic, offsets: committed }),
    async read(max) {
      const out: SourceRecord<KafkaPosition>[] = [];
      while (out.length < max && head < queue.length) {
        const fetched = queue[head]!;
        head += 1;
        const { partition, message } = fetched;
        out.push({
          position: { topic, offsets: { [partition]: message.offset } },
          next: next(partition, message.offset),
          payload: message.value ?? Buffer.alloc(0),
        });
        fetched.batch.left -= 1;
        if (fetched.batch.left === 0) fetched.batch.taken();
      }
      if (head > 4_096 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      return out;
    },
    async commit(position) {
      const offsets = Object.entries(position.offsets)
        // Not ours, or behind our own last commit (a record read from a member since replaced).
        .filter(([p, offset]) => assigned.has(Number(p)) && BigInt(offset) > BigInt(committed[p] ?? -1))
        .map(([p, offset]) => ({ topic, partition: Number(p), offset }));
      if (offsets.length === 0) return;
      try {
        await kept.current().commitOffsets(offsets);
      } catch (error) {
        // Not ours any more: the records after the group's last commit go to the new owner again.
        if (isRebalancing(error)) {
          staleCommits += 1;
          return;
        }
        lastError = `commit failed: ${describe(error)}`;
        throw error;
      }
      committed = { ...committed, ...Object.fromEntries(offsets.map((o) => [o.partition, o.offset])) };
    },
    async close() {
      closing = true;
      clearInterval(pauseTimer);
      // Leaves the group: the others take its partitions at once instead of after the session timeout.
      await kept.close();
    },
    stats() {
      let lag = 0n;
      for (const [partition, hw] of highWatermarks) {
        const at = committed[partition] ?? firstSeen.get(partition)?.toString();
        if (at !== undefined && hw > BigInt(at)) lag += hw - BigInt(at);
      }
      return {
        groupId,
        topic,
        partitions: [...assigned].sort((a, b) => a - b),
        queued: queued(),
        lag: Number(lag),
        joins,
        restarts: kept.restarts(),
        staleCommits,
        paused,
        connected,
        lastError,
      };
    },
  };
}
