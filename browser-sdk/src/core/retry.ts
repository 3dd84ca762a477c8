/** First retry delay; doubled per attempt up to RETRY_CAP_MS, then jittered to 50..100 %. */
export const RETRY_BASE_MS = 1000;
export const RETRY_CAP_MS = 5 * 60_000;
/** Attempts per batch before it is dropped (counted): never retry forever. */
export const MAX_ATTEMPTS = 8;
/** Longest Retry-After we obey: a misconfigured proxy must not mute the SDK for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/** The batch is on the collector's disk: forget it. */
export const DELIVERED = 0;
/** The collector refused the batch for good (or we gave up): forget it and count it as dropped. */
export const REJECTED = -1;

/** Retry-After in ms (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  const ms = value ? (/^\s*\d+\s*$/.test(value) ? +value * 1000 : Date.parse(value) - now) : NaN;
  return ms == ms ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** Exponential backoff with jitter for the attempt-th retry (0-based). */
export function backoffMs(attempt: number, random = Math.random()): number {
  return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + random / 2);
}

/**
 * What to do after an upload: DELIVERED, REJECTED, or the delay in ms before the next attempt.
 * Network errors (status 0), 408 and 5xx back off; 429/503 wait for Retry-After when given;
 * any other status (bad key, bad batch, too large) will not get better by retrying.
 */
export function decide(
  status: number,
  retryAfter: string | null | undefined,
  attempt: number,
  now = Date.now(),
  random = Math.random(),
): number {
  if (status > 199 && status < 300) return DELIVERED;
  if ((status && status != 408 && status != 429 && status < 500) || attempt + 1 >= MAX_ATTEMPTS)
    return REJECTED;
  return Math.max(
    (status == 429 || status == 503 ? parseRetryAfter(retryAfter, now) : undefined) ??
      backoffMs(attempt, random),
    1,
  );
}
