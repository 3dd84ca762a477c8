import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BATCH_JOURNAL_FILE,
  createBatchIndex,
  loadBatchJournal,
  openBatchJournal,
  type BatchJournal,
} from '../src/index.js';
import { makeBatch, startHarness, tempDir, WEB_KEY, type Harness } from './helpers.js';

describe('idempotency survives the deletion of spool segments (batch-id journal)', () => {
  let h: Harness;
  afterEach(() => h.close());

  const send = (batch: unknown) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: JSON.stringify(batch),
      headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
    });
  /** About 10 KB stored: with a 64 KiB cap (8 KiB segments) each batch gets a segment of its own. */
  const bulky = () =>
    makeBatch({
      events: [
        { id: `e-${Math.random()}`, ts: Date.now(), kind: 'log', level: 'info', message: 'x'.repeat(8000) },
      ],
    });

  it('answers duplicate: true after a restart for batches whose segments consumers already deleted', async () => {
    h = await startHarness({ storage: { spoolMaxBytes: 64 * 1024 } }, undefined, { journalFlushMs: 50 });
    const batches = Array.from({ length: 6 }, bulky);
    for (const batch of batches) expect((await send(batch)).json().duplicate).toBe(false);
    // Consumers passed them all: every sealed segment goes, only the active one (the last batch) stays.
    expect(await h.spool.removeSegmentsBefore(Number.MAX_SAFE_INTEGER)).toBe(5);
    expect((await h.envelopes()).map((e) => e.batch.batchId)).toEqual([batches[5]!.batchId]);
    await h.restart();
    for (const batch of batches) expect((await send(batch)).json()).toEqual({ accepted: 1, duplicate: true });
    expect(await h.envelopes()).toHaveLength(1);
    expect((await send(bulky())).json().duplicate).toBe(false);
  });

  it('tolerates a torn last line and still finds batches the journal missed in the spool', async () => {
    h = await startHarness();
    const first = makeBatch();
    expect((await send(first)).statusCode).toBe(202);
    await h.restart();
    const journal = path.join(h.spoolDir, BATCH_JOURNAL_FILE);
    // A crash mid-write leaves half a line; a batch stored after the last flush is only in the spool.
    await appendFile(journal, '{"a":"web","b":"half');
    const second = makeBatch();
    expect((await send(second)).statusCode).toBe(202);
    await h.restart();
    expect((await send(first)).json().duplicate).toBe(true);
    expect((await send(second)).json().duplicate).toBe(true);
    expect(await h.envelopes()).toHaveLength(2);
  });
});

describe('batch-id journal file', () => {
  let journal: BatchJournal | undefined;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  afterEach(async () => {
    await journal?.close();
    journal = undefined;
    await tmp.remove();
  });

  it('forgets ids older than the window when it loads, and rewrites itself once mostly stale', async () => {
    tmp = await tempDir();
    const file = path.join(tmp.dir, 'ids.jsonl');
    let now = 10_000_000;
    const index = createBatchIndex({ windowMs: 1000, maxEntries: 100, now: () => now });
    journal = await openBatchJournal(file, index, { flushMs: 60_000 });
    for (let i = 0; i < 12_000; i++) {
      const entry = {
        app: 'web',
        batchId: `b${i}`,
        accepted: 1,
        receivedAt: now,
        position: { segment: 1, offset: i },
      };
      index.remember(entry.app, entry.batchId, entry.accepted, entry.receivedAt, entry.position);
      journal.append(entry);
    }
    await journal.flush();
    expect(journal.stats().compactions).toBe(1);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(100); // only the live ids (the index keeps 100)
    await journal.close();
    journal = undefined;

    const fresh = createBatchIndex({ windowMs: 1000, now: () => now });
    const loaded = await loadBatchJournal(file, fresh);
    expect(loaded).toMatchObject({ lines: 100, unreadable: 0, lastPosition: { segment: 1, offset: 11_999 } });
    expect(fresh.lookup('web', 'b11999')).toBe(1);
    now += 1001;
    const later = createBatchIndex({ windowMs: 1000, now: () => now });
    await loadBatchJournal(file, later);
    expect(later.size).toBe(0);
  });
});
