/** Upper bounds (seconds) of the fsync latency buckets: 0.5 ms (SSD) up to 2.5 s (a disk in trouble). */
export const FSYNC_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]);

/** A cumulative histogram in Prometheus' terms: counts[i] observations were <= bounds[i]. */
export interface LatencyHistogram {
  readonly bounds: readonly number[];
  /** Cumulative counts, one per bound (the implicit +Inf bucket is `count`). */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export interface LatencyRecorder {
  observe(seconds: number): void;
  snapshot(): LatencyHistogram;
}

export function createLatencyRecorder(bounds: readonly number[] = FSYNC_BUCKETS_SECONDS): LatencyRecorder {
  const buckets = new Array<number>(bounds.length).fill(0);
  let sum = 0;
  let count = 0;
  return {
    observe(seconds) {
      sum += seconds;
      count += 1;
      const i = bounds.findIndex((bound) => seconds <= bound);
      if (i >= 0) buckets[i]! += 1;
    },
    snapshot() {
      let running = 0;
      const counts = buckets.map((n) => (running += n));
      return { bounds, counts, sum, count };
    },
  };
}
