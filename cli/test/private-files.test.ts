import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { openSpoolReader, openSpoolWriter, type SpoolPosition } from '@telltale/spool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir, waitFor } from './helpers.js';

const POISON = 'not json: ask alice@example.com, token=abc123secret';

/** Every file and folder under `dir` with its permission bits, `dir` itself as ".". */
async function walk(dir: string): Promise<Array<{ path: string; kind: 'file' | 'dir'; mode: string }>> {
  const out: Array<{ path: string; kind: 'file' | 'dir'; mode: string }> = [];
  const visit = async (relative: string): Promise<void> => {
    const info = await stat(path.join(dir, relative));
    out.push({
      path: relative,
      kind: info.isDirectory() ? 'dir' : 'file',
      mode: (info.mode & 0o777).toString(8),
    });
    if (info.isDirectory())
      for (const name of (await readdir(path.join(dir, relative))).sort())
        await visit(relative === '.' ? name : path.join(relative, name));
  };
  await visit('.');
  return out;
}

/** Where the client spool ends now: consumers that reached it have handled every record. */
async function spoolEnd(dir: string): Promise<SpoolPosition> {
  const reader = openSpoolReader({ dir });
  let position: SpoolPosition = { segment: 0, offset: 0 };
  for (;;) {
    const records = await reader.read(position, 1000);
    if (records.length === 0) return position;
    position = records.at(-1)!.next;
  }
}

/**
 * Raw copies are private: what a real run leaves in the data dir — spools, checkpoints, dead
 * letters, source maps, alert files, DuckDB — is this user's only (files 0600, folders 0700). The
 * walk covers every file, so a file added later without a mode fails here.
 */
describe('the data dir of a real run is private', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let data: string;
  let telltale: RunningTelltale;

  beforeAll(async () => {
    root = await tempDir('private');
    data = path.join(root.dir, 'data'); // created by Telltale, not by the test
    // A poison record (a collector of another version, a disk error): written before start, as the
    // collector holds the spool's lock while running.
    const writer = await openSpoolWriter({ dir: path.join(data, 'spool', 'client') });
    await writer.append(Buffer.from(POISON));
    await writer.close();

    telltale = await startTelltale({ port: 0, dataDir: data, logger: false, env: {} });
    const secret = telltale.demoSecret!;
    const maps = await fetch(`${telltale.url}/v1/releases/1.0.0/sourcemaps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        files: [
          {
            name: 'https://shop.example.com/app.js',
            map: JSON.stringify({ version: 3, sources: ['src/app.ts'], names: [], mappings: 'AAAA' }),
          },
        ],
      }),
    });
    expect(maps.status, await maps.text()).toBe(201);
    const now = Date.now();
    const batch = await fetch(`${telltale.url}/v1/batch`, {
      method: 'POST',
      headers: { 'x-telltale-key': telltale.demoKey!, 'content-type': 'text/plain' },
      body: gzipSync(
        JSON.stringify({
          v: 1,
          batchId: 'b-private-1',
          sentAt: now,
          release: '1.0.0',
          environment: 'production',
          session: 's-1',
          events: [
            {
              kind: 'error',
              id: 'e-1',
              ts: now,
              type: 'TypeError',
              message: 'x is undefined',
              stack: 'TypeError: x is undefined\n    at a (https://shop.example.com/app.js:1:1)',
            },
            { kind: 'feature', id: 'f-1', ts: now, name: 'export-csv' },
          ],
        }),
      ),
    });
    expect(batch.status, await batch.text()).toBe(202);
    const server = await fetch(`${telltale.url}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ ts: now, level: 'info', service: 'api', message: 'GET /checkout 200' }]),
    });
    expect(server.status, await server.text()).toBe(202);

    const end = await spoolEnd(path.join(data, 'spool', 'client'));
    await waitFor('DuckDB and the alerts consumed the poison and the batch', async () => {
      const at = async (consumer: string): Promise<SpoolPosition> =>
        JSON.parse(
          await readFile(path.join(data, 'checkpoints', `${consumer}.json`), 'utf8'),
        ) as SpoolPosition;
      const both = [await at('duckdb'), await at('alerts')];
      return both.every((p) => p.segment === end.segment && p.offset === end.offset) ? true : undefined;
    });
    await telltale.close();
  });

  afterAll(async () => {
    await telltale?.close();
    await root?.remove();
  });

  it('creates every file 0600 and every folder 0700, the data dir included', async () => {
    const entries = await walk(data);
    const names = entries.map((e) => e.path);
    // What the run stored: the walk below is about all of these, not an empty folder.
    for (const expected of [
      path.join('spool', 'client'),
      path.join('spool', 'server'),
      path.join('checkpoints', 'duckdb.json'),
      path.join('checkpoints', 'alerts.json'),
      'telltale.duckdb',
      'demo-app.json',
      'artifacts',
      path.join('dead-letter', 'duckdb'),
      path.join('dead-letter', 'alerts'),
    ])
      expect(names, `${expected} in ${names.join(', ')}`).toContain(expected);
    const loose = entries.filter((e) => e.mode !== (e.kind === 'dir' ? '700' : '600'));
    expect(loose).toEqual([]);
  });

  it('tightens a data dir and files an older version left world-readable', async () => {
    const old = path.join(root.dir, 'old-data');
    await mkdir(path.join(old, 'checkpoints'), { recursive: true });
    await chmod(old, 0o755);
    await writeFile(
      path.join(old, 'demo-app.json'),
      '{"ingestKey":"tt_demo_old_0123456789abcdef","secretKey":"tt_secret_demo_old_0123456789abcdef"}\n',
    );
    await chmod(path.join(old, 'demo-app.json'), 0o644);
    await writeFile(path.join(old, 'checkpoints', 'duckdb.json'), '{"segment":0,"offset":0}');
    await chmod(path.join(old, 'checkpoints', 'duckdb.json'), 0o644);
    const again = await startTelltale({ port: 0, dataDir: old, logger: false, env: {} });
    await again.close();
    expect(again.demoKey).toBe('tt_demo_old_0123456789abcdef');
    const modes = Object.fromEntries((await walk(old)).map((e) => [e.path, e.mode]));
    expect(modes).toMatchObject({
      '.': '700',
      'demo-app.json': '600',
      checkpoints: '700',
      [path.join('checkpoints', 'duckdb.json')]: '600',
    });
  });

  it('keeps only a scrubbed copy of the poison record, with its size and sha256', async () => {
    const deadDir = path.join(data, 'dead-letter', 'duckdb');
    const files = await readdir(deadDir, { recursive: true });
    const payloadFile = files.find((f) => f.endsWith('.payload'));
    const reasonFile = files.find((f) => f.endsWith('.reason.json'));
    expect(payloadFile).toMatch(/^\d{4}-\d{2}-\d{2}\/\d{10}-\d{12}\.payload$/);
    const kept = await readFile(path.join(deadDir, payloadFile!), 'utf8');
    expect(kept).not.toContain('alice@example.com');
    expect(kept).not.toContain('abc123secret');
    expect(kept).toContain('not json: ask');
    const reason = JSON.parse(await readFile(path.join(deadDir, reasonFile!), 'utf8')) as {
      code: string;
      payload: { format: string; bytes: number; sha256: string };
    };
    expect(reason.code).toBe('invalid_json');
    expect(reason.payload).toMatchObject({ format: 'text', bytes: Buffer.byteLength(POISON) });
    expect(reason.payload.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
