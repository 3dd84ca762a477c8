import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { SpoolPosition } from '@telltale/spool';
import type { JournalBatch } from './journal.js';

const gzip = promisify(gzipCallback);

// Retry schedule, in one place: exponential from BASE to CAP with equal jitter; Retry-After wins, up to its cap.
export const RETRY = Object.freeze({
  baseMs: 500,
  multiplier: 2,
  capMs: 30_000,
  retryAfterCapMs: 10 * 60_000,
  requestTimeoutMs: 30_000,
  // With nothing to send the journal is polled (and watched, where the OS can: see shipping.ts); the
  // app's thread never signals the shipping worker, that would cost it a message per line.
  idlePollMs: 250,
});
// A request's NDJSON before gzip: well under the collector's 1 MiB gzip body, even for text that hardly compresses.
const MAX_BATCH_CHARS = 256 * 1024;

/** Where the shipper reads lines from and reports what the collector took (the journal reader). */
export interface ShipSource {
  read(maxLines: number, maxChars: number): Promise<JournalBatch>;
  shipped(next: SpoolPosition): Promise<void>;
}

export interface ShipperStats {
  /** Lines the collector acknowledged (202). */
  shipped: number;
  /** Lines the collector refused as invalid (400) or too large (413) one at a time, or too long to read: dropped, counted. */
  rejected: number;
  /** Failed attempts (network, 429, 5xx, 401/403) since start. */
  retries: number;
  /** The last failure, e.g. `503`, `ECONNREFUSED`; null once a batch went through. */
  lastError: string | null;
}

export interface Shipper {
  stats(): ShipperStats;
  /** Ends an idle wait (new lines), never a backoff. */
  wake(): void;
  /** Stops after the request in flight (aborted after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, RETRY.retryAfterCapMs);
  const date = Date.parse(header);
  if (Number.isFinite(date)) return Math.min(Math.max(0, date - Date.now()), RETRY.retryAfterCapMs);
  return undefined;
}

export function backoffMs(attempt: number, random = Math.random): number {
  const ceiling = Math.min(RETRY.capMs, RETRY.baseMs * RETRY.multiplier ** Math.min(attempt, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

/**
 * Ships the buffer in the background: gzipped NDJSON to `/v1/logs`, oldest first, one request at a time.
 * The checkpoint moves only on a 202, so a crash between the 202 and the commit resends a batch
 * whose ids the stores already hold.
 */
export function startShipper(options: {
  source: ShipSource;
  logsUrl: string;
  key: string;
  batchLines: number;
  warn: (reason: string, message: string) => void;
  /** Called when an idle wait starts (everything read is shipped); `wake()` ends that wait. */
  onIdle?: () => void;
}): Shipper {
  const { source, logsUrl, key, warn } = options;
  const counters: ShipperStats = { shipped: 0, rejected: 0, retries: 0, lastError: null };
  let stopped = false;
  let attempt = 0;
  // Halved on a 413, so a batch that does not fit goes in smaller pieces; back to full after a 202.
  let maxLines = options.batchLines;
  let sleeping: { done: () => void; idle: boolean } | undefined;
  let inFlight: AbortController | undefined;

  const sleep = (ms: number, idle = false): Promise<void> =>
    new Promise((resolve) => {
      if (stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        sleeping = undefined;
        resolve();
      }
      sleeping = { done, idle };
      if (idle) options.onIdle?.();
    });

  async function failed(reason: string, waitMs: number): Promise<void> {
    counters.retries += 1;
    counters.lastError = reason;
    attempt += 1;
    await sleep(waitMs);
  }

  async function once(): Promise<void> {
    const batch = await source.read(maxLines, MAX_BATCH_CHARS);
    const { entries } = batch;
    if (entries.length === 0) {
      // Only blank lines, a torn tail or an overlong line: nothing to send, but the checkpoint moves past them.
      if (batch.advanced) {
        await source.shipped(batch.next);
        counters.rejected += batch.skipped;
        return;
      }
      return sleep(RETRY.idlePollMs, true);
    }
    const lines = entries.length;
    const compressed = await gzip(Buffer.from(entries.map((e) => e.wire).join('\n'), 'utf8'));
    inFlight = new AbortController();
    const timeout = setTimeout(() => inFlight?.abort(), RETRY.requestTimeoutMs);
    let response: Response;
    try {
      response = await fetch(logsUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          'content-encoding': 'gzip',
          'x-telltale-key': key,
        },
        body: compressed,
        signal: inFlight.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      return failed(String(code), backoffMs(attempt));
    } finally {
      clearTimeout(timeout);
      inFlight = undefined;
    }
    const status = response.status;
    if (status === 202 || status === 200) {
      await source.shipped(batch.next);
      counters.shipped += lines;
      counters.rejected += batch.skipped;
      counters.lastError = null;
      attempt = 0;
      maxLines = options.batchLines;
      return;
    }
    if ((status === 413 || status === 400) && lines > 1) {
      maxLines = Math.max(1, Math.floor(lines / 2)); // find the line that does not fit
      return;
    }
    if (status === 413 || status === 400) {
      // One line the collector will never take: skipping it is the only way the rest gets through.
      await source.shipped(batch.next);
      counters.rejected += 1 + batch.skipped;
      warn(`rejected_${status}`, `the collector refused a log line with ${status}; it was dropped`);
      return;
    }
    if (status === 401 || status === 403)
      warn('unauthorized', `the collector refused the secret key (${status}); lines stay in the buffer`);
    const wait =
      status === 429 || status === 503 ? retryAfterMs(response.headers.get('retry-after')) : undefined;
    return failed(String(status), wait ?? backoffMs(attempt));
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (error) {
        // A disk or checkpoint failure: keep the app running, try again later.
        await failed(error instanceof Error ? error.message.slice(0, 200) : 'error', backoffMs(attempt));
      }
    }
  })();

  return {
    stats: () => ({ ...counters }),
    wake() {
      if (sleeping?.idle) sleeping.done();
    },
    async stop(graceMs = 2_000) {
      stopped = true;
      sleeping?.done();
      const abort = setTimeout(() => inFlight?.abort(), graceMs);
      await loop;
      clearTimeout(abort);
    },
  };
}
