import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelltale, type RunningTelltale } from '../../cli/src/server.js';
import {
  bundleTransport,
  kill9,
  startApp,
  storedNumbers,
  tempDir,
  waitFor,
  type LoggerApi,
} from './helpers.js';

const API_TOKEN = 'node-transport-test-token-0123456789abcdef';

/** The `n` of every complete line in the app's journal right now (the app is dead: nothing moves). */
async function journalNumbers(bufferDir: string): Promise<number[]> {
  const dir = path.join(bufferDir, 'journal');
  const numbers: number[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.ndjson')).sort()) {
    const text = await readFile(path.join(dir, name), 'utf8');
    for (const line of text.split('\n').slice(0, -1)) numbers.push((JSON.parse(line) as { n: number }).n);
  }
  return numbers;
}

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

describe.each<LoggerApi>(['destination', 'transport'])('%s: kill -9 of the app', (api) => {
  let data: { dir: string; remove(): Promise<void> };
  let work: { dir: string; remove(): Promise<void> };
  let server: RunningTelltale | undefined;
  let bundles: Record<string, string>;

  beforeAll(async () => {
    data = await tempDir('node-crash-data');
    work = await tempDir('node-crash-app');
    bundles = await bundleTransport(work.dir);
  });
  afterAll(async () => {
    await server?.close();
    await data.remove();
    await work.remove();
  });

  it('ships the lines written before the kill after the restart, each stored exactly once', async () => {
    server = await startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: API_TOKEN },
    });
    const bufferDir = path.join(work.dir, 'buffer');
    const env = {
      ...bundles,
      TT_API: api,
      TT_ENDPOINT: server.url,
      TT_KEY: server.demoSecret!,
      TT_DIR: bufferDir,
    };

    // First life: a long numbered stream (50 lines a millisecond tick); once some lines are stored,
    // a burst of 20,000 lines in one tick (as fast as pino takes them), and a kill -9 right after it,
    // while lines are still on their way to the journal if anything holds them in memory.
    const first = startApp({ ...env, TT_FROM: '0', TT_COUNT: '1000000', TT_BATCH: '50', TT_BURST: '20000' });
    await waitFor(
      'the first lines stored',
      async () => (await storedNumbers(data.dir)).length >= 2000,
      60_000,
    );
    const beforeBurst = first.wrote();
    first.child.kill('SIGUSR2');
    await waitFor('the burst', () => first.wrote() >= beforeBurst + 20_000 || undefined, 60_000);
    await kill9(first);
    const wroteBeforeKill = first.wrote(); // the app's last report before it died
    expect(first.done()).toBe(false); // killed mid-stream

    // What the dead app left in its journal (files wholly shipped are deleted already).
    const onDisk = await journalNumbers(bufferDir);
    expect(onDisk.length).toBeGreaterThan(0);
    // A crash between the collector's 202 and the checkpoint's commit: every journal line goes again.
    await writeFile(path.join(bufferDir, 'journal-shipped.json'), JSON.stringify({ segment: 0, offset: 0 }));

    // Second life, same buffer dir: a short stream of its own, then idle.
    const second = startApp({ ...env, TT_FROM: '10000000', TT_COUNT: '500', TT_BATCH: '100' });
    const reachedDisk = Math.max(...onDisk) + 1;
    await waitFor(
      'every journal line and the second life’s lines stored',
      async () => {
        const stored = new Set(await storedNumbers(data.dir));
        return onDisk.every((n) => stored.has(n)) && stored.has(10_000_499) && second.done();
      },
      90_000,
    );
    await kill9(second);
    await server.close();
    server = undefined;

    const stored = await storedNumbers(data.dir);
    // Exactly once: no number twice, though every journal line was sent twice.
    expect(new Set(stored).size).toBe(stored.length);
    const firstLife = stored.filter((n) => n < 10_000_000);
    const secondLife = stored.filter((n) => n >= 10_000_000);
    // Every line of the first life up to the last one that reached the journal, and no gap.
    expect(firstLife).toEqual(range(reachedDisk));
    expect(secondLife).toEqual(Array.from({ length: 500 }, (_, i) => 10_000_000 + i));
    const lost = wroteBeforeKill - reachedDisk;
    process.stdout.write(
      `${api}, kill -9: ${wroteBeforeKill} logging calls returned, ${reachedDisk} lines reached the journal (lost: ${Math.max(0, lost)}), each stored once\n`,
    );
    if (api === 'destination') {
      // The line is in the journal (the page cache) before logger.info returns: a kill -9 loses none.
      expect(reachedDisk).toBeGreaterThanOrEqual(wroteBeforeKill);
    }
    // The transport loses, from the tail only, the lines still in pino's ring buffer at the kill:
    // reported above, not asserted (it depends on the machine).
  }, 240_000); // two app lives, a collector and DuckDB reads: minutes on a loaded 2-core machine
});
