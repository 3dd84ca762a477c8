/** How a Kafka consumer of the dispatchers behaves; tests shorten the session timeout. */
export interface KafkaConsumerTimings {
  /** A member that stops heartbeating (kill -9, frozen) loses its partitions after this long, ms. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How long the group waits for members to rejoin during a rebalance, ms. */
  rebalanceTimeoutMs: number;
  /** One fetch takes at most this much of one partition (a ClickHouse hand-over is ~2,000 records of a few KiB). */
  maxBytesPerPartition: number;
  maxBytes: number;
  /** The broker answers a fetch after this long even when it has nothing new, ms. */
  maxWaitMs: number;
  /** How often a queued batch checks for a rebalance or stop while it waits for the loop, ms. */
  waitTickMs: number;
  /** How often the sink's breaker is looked at to pause or resume fetching, ms. */
  pauseCheckMs: number;
  /** Batches of this many partitions are queued at once (more partitions than this wait their turn). */
  partitionsConcurrently: number;
  /** kafkajs restarts a crashed consumer this many times (effectively forever). */
  restartRetries: number;
  /**
   * A consumer kafkajs does not restart (a non-retriable error) is replaced after this long, doubling
   * with each replacement that does not join, up to `restartCapMs` (jittered by half), ms.
   */
  restartBaseMs: number;
  restartCapMs: number;
}

export const KAFKA_CONSUMER_TIMINGS: Readonly<KafkaConsumerTimings> = Object.freeze({
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxBytesPerPartition: 4 * 1024 * 1024,
  maxBytes: 32 * 1024 * 1024,
  maxWaitMs: 250,
  waitTickMs: 500,
  pauseCheckMs: 250,
  partitionsConcurrently: 64,
  restartRetries: Number.MAX_SAFE_INTEGER,
  restartBaseMs: 1_000,
  restartCapMs: 30_000,
});
