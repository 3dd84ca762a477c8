/** First retry delay; doubled per attempt up to RETRY_CAP_MS, then jittered to 50..100 %. */
export const RETRY_BASE_MS = 1000;
export const RETRY_CAP_MS = 5 * 60_000;
/**
 * Answers in a row that ask for a retry before the batch is dropped (counted): a collector that
 * keeps failing is not retried forever. Network errors (no answer) never use them up: that is the
 * bad network we must survive, and the queue's age cap bounds them.
 */
export const MAX_ATTEMPTS = 8;
/** Longest Retry-After we obey: a misconfigured proxy must not mute the SDK for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/** The batch is on the collector's disk: forget it. */
export const DELIVERED = 0;
/** The collector refused the batch for good (or we gave up): forget it and count it as dropped. */
export const REJECTED = -1;

/**
 * What to do after an upload: DELIVERED, REJECTED, or the delay in ms before the next attempt.
 * Network errors (status 0), 408 and 5xx back off exponentially with jitter (capped); a Retry-After
 * (the caller passes it for 429 and 503 only), in seconds or as an HTTP date, is obeyed instead; any other
 * status (bad key, bad batch, too large) will not get better by retrying.
 */
export function decide(
  status: number,
  retryAfter: string | null | undefined | false,
  attempt: number,
  random = Math.random(),
): number {
  // Delta-seconds (what the collector sends), else an HTTP date (what proxies and CDNs send); neither: NaN, the backoff.
  const ms = retryAfter ? +retryAfter * 1000 || Date.parse(retryAfter) - Date.now() : NaN;
  return status > 199 && status < 300
    ? DELIVERED
    : status && ((status != 408 && status != 429 && status < 500) || attempt + 1 >= MAX_ATTEMPTS)
      ? REJECTED
      : ms == ms
        ? Math.min(Math.max(ms, 1), MAX_RETRY_AFTER_MS)
        : Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + random / 2);
}
