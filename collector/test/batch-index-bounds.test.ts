import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatchIndex, loadBatchJournal, openBatchJournal, type BatchJournal } from '../src/index.js';
import { tempDir } from './helpers.js';

// Sender-chosen ids up to the protocol's 200 characters.
const longId = (i: number) => `${String(i).padStart(8, '0')}-${'b'.repeat(190)}`;

describe('batch-id index bounded in bytes', () => {
  it('holds at most maxBytes of keys, evicting the oldest first', () => {
    const index = createBatchIndex({ maxBytes: 10_000, maxEntries: 1_000_000 });
    const now = Date.now();
    for (let i = 0; i < 500; i++) index.remember('web', longId(i), 1, now);
    expect(index.bytes).toBeLessThanOrEqual(10_000);
    // Each key is 'web' + newline + 199 characters: 49 fit in 10,000.
    expect(index.size).toBe(Math.floor(10_000 / (4 + 199)));
    expect(index.lookup('web', longId(0))).toBeUndefined();
    expect(index.lookup('web', longId(450))).toBeUndefined();
    expect(index.lookup('web', longId(499))).toBe(1);
    expect(index.lookup('web', longId(500 - index.size))).toBe(1);
    // Remembering an id again does not count its bytes twice.
    const before = index.bytes;
    index.remember('web', longId(499), 1, now);
    expect(index.bytes).toBe(before);
  });

  it('keeps the entry bound as well, and short ids are not hurt by the byte bound', () => {
    const index = createBatchIndex({ maxEntries: 100 });
    for (let i = 0; i < 150; i++) index.remember('web', `b-${i}`, 1, Date.now());
    expect(index.size).toBe(100);
    expect(index.lookup('web', 'b-49')).toBeUndefined();
    expect(index.lookup('web', 'b-50')).toBe(1);
  });
});

describe('batch-id journal bounded in bytes', () => {
  let journal: BatchJournal | undefined;
  let remove: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await journal?.close();
    await remove?.();
    journal = undefined;
  });

  it('rewrites itself within maxBytes keeping the newest lines, and a restart still knows the newest ids', async () => {
    const tmp = await tempDir();
    remove = tmp.remove;
    const file = path.join(tmp.dir, 'batch-ids.jsonl');
    const index = createBatchIndex();
    const maxBytes = 20_000;
    journal = await openBatchJournal(file, index, { maxBytes, flushMs: 60_000 });
    const now = Date.now();
    for (let i = 0; i < 400; i++) {
      const entry = {
        app: 'web',
        batchId: longId(i),
        accepted: 1,
        receivedAt: now,
        position: { segment: 1, offset: i },
      };
      index.remember(entry.app, entry.batchId, 1, now, entry.position);
      journal.append(entry);
      if (i % 50 === 49) await journal.flush();
    }
    await journal.flush();
    // 400 lines of ~250 bytes would be ~100 KB.
    expect((await stat(file)).size).toBeLessThanOrEqual(maxBytes);
    expect(journal.stats().compactions).toBeGreaterThan(0);
    expect(journal.stats().bytes).toBe((await stat(file)).size);
    await journal.close();
    journal = undefined;

    const reloaded = createBatchIndex();
    const load = await loadBatchJournal(file, reloaded);
    expect(load.unreadable).toBe(0);
    expect(reloaded.lookup('web', longId(399))).toBe(1);
    expect(reloaded.lookup('web', longId(0))).toBeUndefined();
  });
});
