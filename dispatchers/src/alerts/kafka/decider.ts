import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import {
  keepConsumer,
  type ConsumerKeeper,
  type MemberLife,
  type EnrichedEvent,
} from '../../pipeline/index.js';
import type { AlertLog } from '../alert-log.js';
import type { Alerter, AlerterStats } from '../alerter.js';
import { kafkaAlertLog } from './kafka-log.js';
import type { AlertLogView } from './log-view.js';
import type { SharedAlertState } from './shared-state.js';
import { countersOf, emptyStats, sumStats } from './stats.js';

export interface DeciderTimings {
  /** kafkajs session timeout: how long a killed owner holds its partitions (default 30 s). */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Longest an owner waits for its alert log to be read before giving up the batch (default 60 s). */
  catchUpTimeoutMs: number;
  /** Longest a batch waits for its emails' first attempt before moving on (default 20 s). */
  settleTimeoutMs: number;
  /**
   * A new owner sends the pending alerts it found after this long (default 40 s: longer than one
   * SMTP attempt may take, see mailer.ts), so a live previous owner's in-flight send logs `sent` first.
   */
  inheritedPendingDelayMs: number;
  /** How long the group waits for members to rejoin; an owner finishes its in-flight send first (default 90 s). */
  rebalanceTimeoutMs: number;
  /**
   * A consumer kafkajs leaves stopped (a non-retriable error) is replaced after this long, doubling
   * up to `restartCapMs` (jittered by half), forever until close (default 1 s to 30 s).
   */
  restartBaseMs: number;
  restartCapMs: number;
}

export const DECIDER_TIMINGS: DeciderTimings = Object.freeze({
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  catchUpTimeoutMs: 60_000,
  settleTimeoutMs: 20_000,
  inheritedPendingDelayMs: 40_000,
  rebalanceTimeoutMs: 90_000,
  restartBaseMs: 1_000,
  restartCapMs: 30_000,
});

/** Candidates decided per step; ownership is checked before each. */
const DECISION_CHUNK = 200;

interface Owned {
  alerter: Alerter;
  log: AlertLog;
}

export interface Deciders {
  /** Alerters of the partitions this process owns now. */
  owned(): Alerter[];
  /** Their partitions, ascending. */
  partitions(): number[];
  /** Counters of the alerters given back since start (emails sent, muted…), so stats survive rebalances. */
  retired(): AlerterStats;
  /** Candidates that were no event (damaged or foreign records), skipped. */
  readonly skipped: number;
  /** Consumers built to replace one that kafkajs would not restart (a non-retriable error). */
  restarts(): number;
  close(): Promise<void>;
}

function isCandidate(value: unknown): value is EnrichedEvent {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.app === 'string' &&
    typeof e.kind === 'string' &&
    typeof e.receivedAt === 'number' &&
    typeof e.count === 'number'
  );
}

/**
 * Stage 2: the consumer group `<prefix>alert-deciders` over the candidates topic. The owner of a
 * partition is the only process deciding its subjects: on assignment it reads that partition of the
 * alert log to the high watermark, then runs the alerter on it (pending alerts of a dead owner are
 * sent again, as after a local restart). On a rebalance it stops at once — timers cleared, the
 * in-flight send awaited — before kafkajs rejoins, so the next owner starts from a log no one
 * else still writes to (a zombie that missed its session timeout aside: see docs/alerts.md). A
 * member that kafkajs leaves stopped (a non-retriable error) gives its partitions back the same way
 * and is replaced by a new one after a backoff (pipeline/sources/kafka/keeper.ts), forever until close.
 */
export async function startDeciders(options: {
  kafka: Kafka;
  producer: Producer;
  view: AlertLogView;
  state: SharedAlertState;
  groupId: string;
  candidatesTopic: string;
  logTopic: string;
  timings: DeciderTimings;
  /**
   * Called with each batch before it is decided; what it throws goes to kafkajs as eachBatch's error
   * (fault injection: a KafkaJSNonRetriableError stops the member for good, and it is replaced).
   */
  beforeBatch?: (payload: EachBatchPayload) => void | Promise<void>;
  createAlerter: (partition: number, log: AlertLog) => Alerter;
  onError: (error: unknown) => void;
}): Promise<Deciders> {
  const { view, timings } = options;
  const owned = new Map<number, Promise<Owned>>();
  const released = new Map<number, Promise<void>>();
  const ready = new Map<number, Owned>();
  let skipped = 0;
  let retired: AlerterStats | undefined;

  function release(partition: number): void {
    const current = owned.get(partition);
    if (current === undefined) return;
    owned.delete(partition);
    ready.delete(partition);
    const before = released.get(partition) ?? Promise.resolve();
    const done = before
      .then(() => current)
      .then(async ({ alerter, log }) => {
        await alerter.close();
        await log.close();
        const counters = countersOf(alerter.stats());
        retired = sumStats(counters.transport, retired === undefined ? [counters] : [retired, counters]);
      })
      .catch(options.onError);
    released.set(partition, done);
  }

  function ensure(partition: number): Promise<Owned> {
    let current = owned.get(partition);
    if (current !== undefined) return current;
    // A partition given back and taken again: the old alerter finishes its send first.
    const before = released.get(partition) ?? Promise.resolve();
    current = before.then(async () => {
      await view.caughtUp([partition], timings.catchUpTimeoutMs);
      const log = kafkaAlertLog({
        producer: options.producer,
        topic: options.logTopic,
        state: view.partition(partition),
      });
      const mine = { log, alerter: options.createAlerter(partition, log) };
      if (owned.get(partition) === current) ready.set(partition, mine);
      return mine;
    });
    owned.set(partition, current);
    // A failed catch-up is retried by the next batch or assignment.
    current.catch((error: unknown) => {
      if (owned.get(partition) === current) owned.delete(partition);
      options.onError(error);
    });
    return current;
  }

  // Undefined while the first consumer begins: that one is generation 1.
  let keeper: ConsumerKeeper | undefined = undefined;
  let closing = false;
  const live = (generation: number): boolean => !closing && (keeper?.generation() ?? 1) === generation;

  /** One member of the group; a dead one is replaced by the keeper with a new one built here. */
  function build(generation: number, life: MemberLife): Consumer {
    const consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: timings.sessionTimeoutMs,
      heartbeatInterval: timings.heartbeatIntervalMs,
      rebalanceTimeout: timings.rebalanceTimeoutMs,
      allowAutoTopicCreation: true,
    });
    // Synchronous on purpose: kafkajs emits this right before it rejoins, and alerter.close() stops
    // every timer before its first await.
    consumer.on(consumer.events.REBALANCING, () => {
      if (live(generation)) for (const partition of [...owned.keys()]) release(partition);
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (!live(generation)) return;
      const assigned = payload.memberAssignment[options.candidatesTopic] ?? [];
      for (const partition of [...owned.keys()]) if (!assigned.includes(partition)) release(partition);
      // Pending alerts of the previous owner go out even if no new candidate ever arrives.
      for (const partition of assigned) ensure(partition).catch(() => undefined);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!live(generation)) return;
      // kafkajs restarts a consumer after a retriable error only; any other leaves it stopped for good
      // (on the mock cluster: a SyncGroup answered "malformed … incompatible broker" mid-rebalance).
      if (payload.restart === false) life.died(payload.error);
    });
    return consumer;
  }

  async function begin(consumer: Consumer, generation: number): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topic: options.candidatesTopic, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      eachBatch: (payload) => eachBatch(payload, generation),
    });
  }

  /**
   * The member died: its alerters stop (timers at once, the in-flight send awaited before the same
   * partition is taken again here), so the replacement — or another process, after its guard for
   * inherited pending alerts — decides those partitions from the log alone.
   */
  function forget(cause: unknown): void {
    options.onError(cause);
    for (const partition of [...owned.keys()]) release(partition);
  }

  async function settle(alerter: Alerter, heartbeat: () => Promise<void>): Promise<void> {
    let finished = false;
    const done = alerter.settled().then(() => {
      finished = true;
    });
    const deadline = Date.now() + timings.settleTimeoutMs;
    while (!finished && Date.now() < deadline) {
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, timings.heartbeatIntervalMs))]);
      if (!finished) await heartbeat();
    }
  }

  async function eachBatch(payload: EachBatchPayload, generation: number): Promise<void> {
    // A batch of a member already replaced (or of a stop) is the next owner's to decide.
    if (!live(generation)) return;
    try {
      await options.beforeBatch?.(payload);
      await decideBatch(payload, generation);
    } catch (error) {
      // A rebalance seen by a heartbeat, or a failed write: kafkajs rejoins only after this returns,
      // so the in-flight send finishes (and logs `sent`) before anyone else may own the partition.
      release(payload.batch.partition);
      await released.get(payload.batch.partition);
      throw error;
    }
  }

  async function decideBatch(payload: EachBatchPayload, generation: number): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const { partition } = batch;
    const mine = await ensure(partition);
    for (let i = 0; i < batch.messages.length; i += DECISION_CHUNK) {
      // Not ours any more (a rebalance or a stop): the next owner decides the rest.
      if (!isRunning() || isStale() || !live(generation) || owned.get(partition) === undefined) return;
      const chunk = batch.messages.slice(i, i + DECISION_CHUNK);
      const events: EnrichedEvent[] = [];
      for (const message of chunk) {
        try {
          const value: unknown = JSON.parse(message.value?.toString() ?? 'null');
          if (isCandidate(value)) events.push(value);
          else skipped += 1;
        } catch {
          skipped += 1;
        }
      }
      await options.state.refresh();
      // On failure the log may hold part of this decision: eachBatch releases, the retry rebuilds from Kafka.
      await mine.alerter.process(events);
      await settle(mine.alerter, heartbeat);
      resolveOffset(chunk[chunk.length - 1]!.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  keeper = await keepConsumer({
    build,
    begin,
    backoff: { baseMs: timings.restartBaseMs, multiplier: 2, capMs: timings.restartCapMs, jitter: 0.5 },
    onDeath: forget,
    onError: options.onError,
  });
  const kept = keeper;

  return {
    owned: () => [...ready.values()].map((o) => o.alerter),
    partitions: () => [...ready.keys()].sort((x, y) => x - y),
    retired: () => retired ?? emptyStats('smtp'),
    get skipped() {
      return skipped;
    },
    restarts: () => kept.restarts(),
    async close() {
      closing = true;
      await kept.close();
      for (const partition of [...owned.keys()]) release(partition);
      await Promise.all([...released.values()]);
    },
  };
}
