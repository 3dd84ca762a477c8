import { describe, expect, it } from 'vitest';
import {
  DELIVERED,
  MAX_ATTEMPTS,
  MAX_RETRY_AFTER_MS,
  REJECTED,
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  backoffMs,
  decide,
  parseRetryAfter,
} from '../src/core/retry.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('decide', () => {
  it('forgets a delivered batch', () => {
    expect(decide(202, null, 0)).toBe(DELIVERED);
    expect(decide(200, null, 3)).toBe(DELIVERED);
  });

  it('drops a batch the collector refuses for good (4xx other than 408/429)', () => {
    for (const status of [400, 401, 403, 404, 413, 415]) expect(decide(status, null, 0)).toBe(REJECTED);
  });

  it('backs off with jitter on network errors, 408 and 5xx', () => {
    for (const status of [0, 408, 500, 502, 503, 504]) {
      expect(decide(status, null, 0, NOW, 0)).toBe(RETRY_BASE_MS / 2);
      expect(decide(status, null, 0, NOW, 1)).toBe(RETRY_BASE_MS);
      expect(decide(status, null, 3, NOW, 1)).toBe(RETRY_BASE_MS * 8);
    }
  });

  it('honours Retry-After on 429 and 503, in seconds or as an HTTP date', () => {
    expect(decide(429, '7', 0, NOW, 0)).toBe(7000);
    expect(decide(503, '120', 5, NOW, 0)).toBe(120_000);
    expect(decide(429, new Date(NOW + 30_000).toUTCString(), 0, NOW, 0)).toBe(30_000);
  });

  it('falls back to backoff when Retry-After is missing or unreadable, and ignores it on other statuses', () => {
    expect(decide(429, null, 2, NOW, 1)).toBe(4000);
    expect(decide(429, 'soon', 2, NOW, 1)).toBe(4000);
    expect(decide(500, '60', 0, NOW, 1)).toBe(RETRY_BASE_MS);
  });

  it('never retries forever', () => {
    expect(decide(500, null, MAX_ATTEMPTS - 2, NOW, 0)).toBeGreaterThan(0);
    expect(decide(500, null, MAX_ATTEMPTS - 1, NOW, 0)).toBe(REJECTED);
    expect(decide(429, '1', MAX_ATTEMPTS - 1, NOW, 0)).toBe(REJECTED);
  });
});

describe('backoff and Retry-After', () => {
  it('caps the backoff', () => {
    expect(backoffMs(30, 1)).toBe(RETRY_CAP_MS);
  });

  it('caps Retry-After and treats a past date as now', () => {
    expect(parseRetryAfter('999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });
});
