import { appendFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { telltaleDestination } from '../src/destination.js';
import { openJournalWriter } from '../src/journal-writer.js';
import { listJournal, openJournalReader } from '../src/journal.js';
import { tempDir } from './helpers.js';

const line = (n: number): string =>
  `${JSON.stringify({ level: 30, time: 1_700_000_000_000 + n, n, msg: `line ${n}` })}\n`;
// What the shipper would send, reduced to the id and the number.
const toWire = (raw: string, id: string): string | undefined =>
  raw.trim() === '' ? undefined : JSON.stringify({ id, n: (JSON.parse(raw) as { n: number }).n });
const parse = (wire: string) => JSON.parse(wire) as { id: string; n: number };

describe('journal', () => {
  let work: { dir: string; remove(): Promise<void> };
  beforeEach(async () => {
    work = await tempDir('node-journal');
  });
  afterEach(async () => {
    await work.remove();
  });

  it('gives every line an id from its file and offset, the same on every read and after a restart', async () => {
    const writer = openJournalWriter({ dir: work.dir, segmentMaxBytes: 1 << 20, who: 'test' });
    for (let n = 0; n < 5; n++) writer.append(line(n));
    expect(writer.flush()).toBe(true);
    const first = await openJournalReader({ dir: work.dir, toWire });
    const batch = await first.read(100, 1 << 20);
    expect(batch.entries.map((e) => parse(e.wire).n)).toEqual([0, 1, 2, 3, 4]);
    const ids = batch.entries.map((e) => parse(e.wire).id);
    expect(new Set(ids).size).toBe(5);
    expect(ids[0]).toMatch(/^tn-[\da-f]{16}-0$/);
    writer.close();
    // A new process life: the same lines keep their ids; its own lines go to a new file with a new id.
    const again = openJournalWriter({ dir: work.dir, segmentMaxBytes: 1 << 20, who: 'test' });
    again.append(line(5));
    const reread = await (await openJournalReader({ dir: work.dir, toWire })).read(100, 1 << 20);
    expect(reread.entries.map((e) => parse(e.wire).id).slice(0, 5)).toEqual(ids);
    expect(reread.entries.map((e) => parse(e.wire).n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(parse(reread.entries[5]!.wire).id.split('-')[1]).not.toBe(ids[0]!.split('-')[1]);
    again.close();
  });

  it('keeps every line of a long synchronous run whole and in order, multi-byte text and huge lines too', async () => {
    const writer = openJournalWriter({ dir: work.dir, segmentMaxBytes: 1 << 20, who: 'test' });
    const text = (n: number): string =>
      n === 700 ? 'x'.repeat(200_000) : `café € 😀 ${n}`.repeat(1 + (n % 7));
    // One turn, far more than one write's worth: written in pieces, none split.
    for (let n = 0; n < 2000; n++) writer.append(JSON.stringify({ level: 30, n, msg: text(n) }));
    expect(writer.flush()).toBe(true);
    expect(writer.counters()).toEqual({ written: 2000, failed: 0 });
    const reader = await openJournalReader({
      dir: work.dir,
      toWire: (raw, id) => JSON.stringify({ id, ...(JSON.parse(raw) as object) }),
    });
    const batch = await reader.read(5000, 1 << 30);
    const read = batch.entries.map((e) => JSON.parse(e.wire) as { id: string; n: number; msg: string });
    expect(read.map((line) => line.n)).toEqual(Array.from({ length: 2000 }, (_, n) => n));
    expect(read.every((line) => line.msg === text(line.n))).toBe(true);
    expect(new Set(read.map((line) => line.id)).size).toBe(2000);
    writer.close();
  });

  it('skips a torn tail of a sealed file and blank lines, and reads on from the checkpoint', async () => {
    const writer = openJournalWriter({ dir: work.dir, segmentMaxBytes: 1 << 20, who: 'test' });
    writer.append(line(0));
    writer.append('\n');
    writer.close();
    // A power cut took back the end of the last line of the first life.
    const [file] = await listJournal(work.dir);
    await appendFile(file!.file, line(1).slice(0, 20));
    const next = openJournalWriter({ dir: work.dir, segmentMaxBytes: 1 << 20, who: 'test' });
    next.append(line(2));
    const reader = await openJournalReader({ dir: work.dir, toWire });
    const batch = await reader.read(100, 1 << 20);
    expect(batch.entries.map((e) => parse(e.wire).n)).toEqual([0, 2]);
    await reader.shipped(batch.next);
    // The sealed file is shipped whole, so it is deleted; the newest stays (it is being written).
    expect((await readdir(path.join(work.dir, 'journal'))).filter((n) => n.endsWith('.ndjson'))).toHaveLength(
      1,
    );
    next.append(line(3));
    expect((await reader.read(100, 1 << 20)).entries.map((e) => parse(e.wire).n)).toEqual([3]);
    next.close();
  });

  it('drops the oldest files at the cap and counts exactly the unshipped lines they held', async () => {
    const writer = openJournalWriter({ dir: work.dir, segmentMaxBytes: 1000, who: 'test' });
    for (let n = 0; n < 100; n++) writer.append(line(n));
    const reader = await openJournalReader({ dir: work.dir, toWire });
    const shippedPart = await reader.read(3, 1 << 20);
    await reader.shipped(shippedPart.next); // 3 lines shipped, in the oldest file
    const before = await listJournal(work.dir);
    const total = before.reduce((sum, f) => sum + f.bytes, 0);
    const { dropped, bytes } = await reader.enforceCap(Math.floor(total / 2));
    expect(bytes).toBeLessThanOrEqual(Math.floor(total / 2));
    const rest = (await reader.read(1000, 1 << 20)).entries.map((e) => parse(e.wire).n);
    // Drop-oldest: what is left is the newest lines, and every unshipped line is either left or counted.
    expect(rest).toEqual(Array.from({ length: rest.length }, (_, i) => 100 - rest.length + i));
    expect(3 + dropped + rest.length).toBe(100);
    writer.close();
  });

  it('refuses a second writer on the same dir, naming the option and the fix', () => {
    const writer = openJournalWriter({ dir: work.dir, segmentMaxBytes: 1 << 20, who: 'telltaleDestination' });
    expect(() =>
      openJournalWriter({ dir: work.dir, segmentMaxBytes: 1 << 20, who: 'telltaleDestination' }),
    ).toThrow(
      /telltaleDestination options\.dir: .* already used by another Telltale logger in this process; give each its own dir/,
    );
    writer.close();
  });

  it('refuses bad destination options at start, naming the field and the fix', () => {
    const base = { endpoint: 'http://127.0.0.1:8080', key: 'tt_secret_x', dir: work.dir };
    expect(() => telltaleDestination({ ...base, endpoint: 'collector:8080/x y' })).toThrow(
      /TELLTALE_ERR_INVALID_CONFIG: telltaleDestination options\.endpoint: must be an http: or https: URL/,
    );
    expect(() => telltaleDestination({ ...base, maxBufferBytes: 10 })).toThrow(
      /telltaleDestination options\.maxBufferBytes: must be an integer from 1048576/,
    );
    expect(() => telltaleDestination({ ...base, dir: '' })).toThrow(/options\.dir: set it to a directory/);
  });
});
