import { LRUCache } from 'lru-cache';
import type { RateLimit } from './config.js';

/** Most buckets kept at once; the least recently used go first (a forgotten bucket is a full one). */
export const RATE_LIMITER_MAX_BUCKETS = 100_000;

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiter {
  /** Takes one token from `key`'s bucket, or says how long until one is there. */
  take(key: string): RateDecision;
  readonly size: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const ALLOW: RateDecision = Object.freeze({ ok: true });

/** Token buckets by key, in bounded memory. A limit of 0 per second lets everything through. */
export function createRateLimiter(
  limit: RateLimit,
  options: { maxBuckets?: number; now?: () => number } = {},
): RateLimiter {
  const maxBuckets = options.maxBuckets ?? RATE_LIMITER_MAX_BUCKETS;
  const now = options.now ?? Date.now;
  const buckets = new LRUCache<string, Bucket>({ max: maxBuckets });
  const perMs = limit.perSecond / 1000;

  return {
    take(key) {
      if (limit.perSecond <= 0) return ALLOW;
      const at = now();
      // get() marks the bucket most recently used; a new one past the cap pushes out the least recent.
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        bucket = { tokens: limit.burst, updatedAt: at };
        buckets.set(key, bucket);
      } else {
        bucket.tokens = Math.min(limit.burst, bucket.tokens + (at - bucket.updatedAt) * perMs);
        bucket.updatedAt = at;
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return ALLOW;
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond)) };
    },
    get size() {
      return buckets.size;
    },
  };
}
