import { describe, expect, it } from 'vitest';
import {
  DELIVERED,
  MAX_ATTEMPTS,
  MAX_RETRY_AFTER_MS,
  REJECTED,
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  decide,
} from '../src/core/retry.js';

describe('decide', () => {
  it('forgets a delivered batch', () => {
    expect(decide(202, null, 0)).toBe(DELIVERED);
    expect(decide(200, null, 3)).toBe(DELIVERED);
  });

  it('drops a batch the collector refuses for good (4xx other than 408/429)', () => {
    for (const status of [400, 401, 403, 404, 413, 415]) expect(decide(status, null, 0)).toBe(REJECTED);
  });

  it('backs off with jitter on network errors, 408 and 5xx, up to a cap', () => {
    for (const status of [0, 408, 500, 502, 503, 504]) {
      expect(decide(status, null, 0, 0)).toBe(RETRY_BASE_MS / 2);
      expect(decide(status, null, 0, 1)).toBe(RETRY_BASE_MS);
      expect(decide(status, null, 3, 1)).toBe(RETRY_BASE_MS * 8);
    }
    expect(decide(0, null, 30, 1)).toBe(RETRY_CAP_MS);
  });

  it('obeys Retry-After (seconds), capped; an unreadable one gets the backoff', () => {
    expect(decide(429, '7', 0)).toBe(7000);
    expect(decide(503, '120', 5)).toBe(120_000);
    expect(decide(429, '999999', 0)).toBe(MAX_RETRY_AFTER_MS);
    expect(decide(429, '0', 0)).toBe(1);
    expect(decide(429, 'soon', 2, 1)).toBe(4000);
    expect(decide(429, null, 2, 1)).toBe(4000);
  });

  it('gives up on a collector that keeps failing, never on a network that is down', () => {
    expect(decide(500, null, MAX_ATTEMPTS - 2, 0)).toBeGreaterThan(0);
    expect(decide(500, null, MAX_ATTEMPTS - 1, 0)).toBe(REJECTED);
    expect(decide(429, '1', MAX_ATTEMPTS - 1)).toBe(REJECTED);
    expect(decide(0, null, 1000, 1)).toBe(RETRY_CAP_MS);
  });
});

describe('Retry-After as an HTTP date', () => {
  it('waits until the date (capped); a date in the past waits 1 ms', () => {
    const at = new Date(Date.now() + 90_000).toUTCString();
    const ms = decide(429, at, 0);
    // toUTCString has whole seconds: up to a second earlier than asked
    expect(ms).toBeGreaterThan(88_000);
    expect(ms).toBeLessThanOrEqual(90_000);
    expect(decide(503, new Date(Date.now() + 2 * 86_400_000).toUTCString(), 0)).toBe(MAX_RETRY_AFTER_MS);
    expect(decide(429, 'Wed, 21 Oct 2015 07:28:00 GMT', 0)).toBe(1);
  });
});
