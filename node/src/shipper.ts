import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { SpoolRecord } from '@telltale/spool';
import { countLines, type DiskBuffer } from './disk-buffer.js';

const gzip = promisify(gzipCallback);

// Retry schedule, in one place: exponential from BASE to CAP with equal jitter; Retry-After wins, up to its cap.
export const RETRY = Object.freeze({
  baseMs: 500,
  multiplier: 2,
  capMs: 30_000,
  retryAfterCapMs: 10 * 60_000,
  requestTimeoutMs: 30_000,
  idlePollMs: 1_000,
});

export interface ShipperStats {
  /** Lines the collector acknowledged (202). */
  shipped: number;
  /** Lines the collector refused as invalid (400) or too large (413) one record at a time: dropped, counted. */
  rejected: number;
  /** Failed attempts (network, 429, 5xx, 401/403) since start. */
  retries: number;
  /** The last failure, e.g. `503`, `ECONNREFUSED`; null once a batch went through. */
  lastError: string | null;
}

export interface Shipper {
  stats(): ShipperStats;
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

function body(buffer: DiskBuffer, records: SpoolRecord[]): string {
  const out: string[] = [];
  for (const record of records) {
    const lines = record.payload.toString('utf8').split('\n');
    // The id goes first, so the rest of the line is copied as the disk has it.
    for (let i = 0; i < lines.length; i++)
      out.push(`{"id":"${buffer.lineId(record, i)}",${lines[i]!.slice(1)}`);
  }
  return out.join('\n');
}

const lineCount = (records: SpoolRecord[]): number => records.reduce((n, r) => n + countLines(r.payload), 0);

/**
 * Ships the buffer in the background: gzipped NDJSON to `/v1/logs`, oldest first, one request at a time.
 * The checkpoint moves only on a 202, so a crash between the 202 and the commit resends a batch
 * whose ids the stores already hold.
 */
export function startShipper(options: {
  buffer: DiskBuffer;
  logsUrl: string;
  key: string;
  batchLines: number;
  warn: (reason: string, message: string) => void;
}): Shipper {
  const { buffer, logsUrl, key, warn } = options;
  const counters: ShipperStats = { shipped: 0, rejected: 0, retries: 0, lastError: null };
  let stopped = false;
  let attempt = 0;
  // Halved on a 413, so a batch that does not fit goes in smaller pieces; back to full after a 202.
  let maxRecords = options.batchLines;
  let sleeping: { done: () => void; idle: boolean } | undefined;
  let inFlight: AbortController | undefined;
  // A new line ends an idle wait, never a backoff; stop() ends either.
  buffer.onDurable(() => {
    if (sleeping?.idle) sleeping.done();
  });

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
    });

  async function failed(reason: string, waitMs: number): Promise<void> {
    counters.retries += 1;
    counters.lastError = reason;
    attempt += 1;
    await sleep(waitMs);
  }

  async function once(): Promise<void> {
    const records = await pickRecords();
    if (records.length === 0) return sleep(RETRY.idlePollMs, true);
    const lines = lineCount(records);
    const compressed = await gzip(Buffer.from(body(buffer, records), 'utf8'));
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
      await buffer.shipped(records.at(-1)!.next);
      counters.shipped += lines;
      counters.lastError = null;
      attempt = 0;
      maxRecords = options.batchLines;
      return;
    }
    if ((status === 413 || status === 400) && records.length > 1) {
      maxRecords = Math.max(1, Math.floor(records.length / 2)); // find the piece that does not fit
      return;
    }
    if (status === 413 || status === 400) {
      // One record the collector will never take: skipping it is the only way the rest gets through.
      await buffer.shipped(records[0]!.next);
      counters.rejected += lines;
      warn(
        `rejected_${status}`,
        `the collector refused ${lines} log lines with ${status}; they were dropped`,
      );
      return;
    }
    if (status === 401 || status === 403)
      warn('unauthorized', `the collector refused the secret key (${status}); lines stay in the buffer`);
    const wait =
      status === 429 || status === 503 ? retryAfterMs(response.headers.get('retry-after')) : undefined;
    return failed(String(status), wait ?? backoffMs(attempt));
  }

  // Whole records up to batchLines lines (a record holds at most that many).
  async function pickRecords(): Promise<SpoolRecord[]> {
    const records = await buffer.read(maxRecords);
    let lines = 0;
    let take = 0;
    while (take < records.length) {
      const n = lineCount([records[take]!]);
      if (take > 0 && lines + n > options.batchLines) break;
      lines += n;
      take += 1;
    }
    return records.slice(0, take);
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
    async stop(graceMs = 2_000) {
      stopped = true;
      sleeping?.done();
      const abort = setTimeout(() => inFlight?.abort(), graceMs);
      await loop;
      clearTimeout(abort);
    },
  };
}
