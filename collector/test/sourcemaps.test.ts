import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { build, createCollectorMetrics, resolveCollectorConfig } from '../src/index.js';
import { sourcemapRoutes } from '../src/sourcemaps.js';

const SECRET = 'tt_secret_web_0123456789abcdef';
const INGEST = 'tt_ingest_web_0123456789abcdef';
const MAP = JSON.stringify({
  version: 3,
  sources: ['../src/app.ts'],
  sourcesContent: ['export function boom() { throw new Error("x"); }\n'],
  names: ['boom'],
  mappings: 'AAAO,SAASA',
});

describe('POST /v1/releases/:release/sourcemaps', () => {
  let dir: string;
  let spool: SpoolWriter;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-sourcemaps-'));
    spool = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    const config = resolveCollectorConfig(
      { apps: [{ id: 'web', name: 'Web', ingestKeys: [INGEST], secretKeys: [SECRET] }] },
      {},
    );
    app = await build(config, { spool });
  });

  afterAll(async () => {
    await app?.close();
    await spool?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (release: string, body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: `/v1/releases/${encodeURIComponent(release)}/sourcemaps`,
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json', ...headers },
      payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });

  it('stores the maps of a release under <data>/artifacts, durably, and answers what it stored', async () => {
    const res = await post(
      '1.4.2',
      gzipSync(
        JSON.stringify({ files: [{ name: 'https://app.example.com/assets/app.3f9a2c1b.js?v=1', map: MAP }] }),
      ),
      { 'content-encoding': 'gzip' },
    );
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json() as { files: Array<{ path: string; id: string; sources: number }> };
    expect(body).toMatchObject({ app: 'web', release: '1.4.2' });
    expect(body.files).toEqual([
      expect.objectContaining({
        path: '/assets/app.3f9a2c1b.js',
        sources: 1,
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
      }),
    ]);
    const releaseDir = path.join(dir, 'artifacts', 'web', '1.4.2');
    const id = body.files[0]!.id;
    expect((await readdir(releaseDir)).sort()).toEqual([`${id}.json`, `${id}.map`, 'release.json']);
    expect(await readFile(path.join(releaseDir, `${id}.map`), 'utf8')).toBe(MAP);
    expect(JSON.parse(await readFile(path.join(releaseDir, `${id}.json`), 'utf8'))).toMatchObject({
      name: 'https://app.example.com/assets/app.3f9a2c1b.js?v=1',
      path: '/assets/app.3f9a2c1b.js',
    });
    expect(JSON.parse(await readFile(path.join(releaseDir, 'release.json'), 'utf8'))).toEqual({
      app: 'web',
      release: '1.4.2',
    });

    // The same map again (a duplicate upload) keeps its first upload time, so grouping on replay does not change;
    // a different map for the same file replaces it. A release that is not a plain file name gets a hashed folder.
    const metaOf = async () =>
      JSON.parse(await readFile(path.join(releaseDir, `${id}.json`), 'utf8')) as { uploadedAt: number };
    const first = (await metaOf()).uploadedAt;
    // The clock is set, not slept on: a minute later the same map keeps its time, a changed one takes the new time.
    vi.useFakeTimers({ toFake: ['Date'], now: first + 60_000 });
    try {
      expect(
        (await post('1.4.2', { files: [{ name: '~/assets/app.3f9a2c1b.js', map: MAP }] })).statusCode,
      ).toBe(201);
      expect((await metaOf()).uploadedAt).toBe(first);
      vi.setSystemTime(first + 120_000);
      const changed = MAP.replace('AAAO,SAASA', 'AAAA,SAASA');
      expect(
        (await post('1.4.2', { files: [{ name: '~/assets/app.3f9a2c1b.js', map: JSON.parse(changed) }] }))
          .statusCode,
      ).toBe(201);
      expect((await metaOf()).uploadedAt).toBe(first + 120_000);
    } finally {
      vi.useRealTimers();
    }
    expect(await readdir(releaseDir)).toHaveLength(3);
    expect((await post('../../etc', { files: [{ name: '~/a.js', map: MAP }] })).statusCode).toBe(201);
    const folders = await readdir(path.join(dir, 'artifacts', 'web'));
    expect(folders.filter((f) => f.startsWith('~'))).toHaveLength(1);
    expect(await readdir(dir)).not.toContain('etc');
  });

  it('takes only the app secret key, from a header', async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ authorization: '' }, '', 'missing secret key'],
      [{ authorization: `Bearer ${INGEST}` }, '', "need the app's secret key, not its public ingest key"],
      [{ authorization: 'Bearer tt_unknown_0123456789abcdef' }, '', 'unknown secret key'],
      [{ authorization: '' }, `?key=${SECRET}`, 'never go in a URL'],
    ];
    for (const [headers, query, message] of cases) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/releases/1.0/sourcemaps${query}`,
        headers: { 'content-type': 'application/json', ...headers },
        payload: JSON.stringify({ files: [{ name: '~/a.js', map: MAP }] }),
      });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({
        error: { code: 'TELLTALE_ERR_UNAUTHORIZED', message: expect.stringContaining(message) },
      });
    }
  });

  it('refuses what is not a source map, naming the file', async () => {
    const bad = await post('1.0', {
      files: [
        { name: '~/a.js', map: MAP },
        { name: '~/b.js', map: '{"version": 2}' },
      ],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      error: {
        code: 'TELLTALE_ERR_INVALID_SOURCEMAP',
        field: 'files[1].map',
        message: expect.stringContaining('~/b.js'),
      },
    });
    expect((await post('1.0', 'not json')).json()).toMatchObject({
      error: { code: 'TELLTALE_ERR_INVALID_SOURCEMAP' },
    });
    expect((await post('1.0', { files: [] })).json()).toMatchObject({ error: { field: 'files' } });
    expect((await post('1.0', { files: [{ name: 'has space.js', map: MAP }] })).json()).toMatchObject({
      error: { field: 'files[0].name' },
    });
  });

  it('refuses bodies over its limits with 413, as sent and once inflated', async () => {
    const small = Fastify();
    const config = resolveCollectorConfig(
      { apps: [{ id: 'web', name: 'Web', ingestKeys: [INGEST], secretKeys: [SECRET] }] },
      {},
    );
    await small.register(sourcemapRoutes, {
      config,
      spool,
      limits: { maxRequestBytes: 4096, maxDecompressedBytes: 65_536 },
    });
    const send = (payload: Buffer, gzip: boolean) =>
      small.inject({
        method: 'POST',
        url: '/v1/releases/1.0/sourcemaps',
        headers: {
          authorization: `Bearer ${SECRET}`,
          'content-type': 'application/json',
          ...(gzip ? { 'content-encoding': 'gzip' } : {}),
        },
        payload,
      });
    const big = Buffer.from(JSON.stringify({ files: [{ name: '~/a.js', map: MAP + ' '.repeat(100_000) }] }));
    expect((await send(big, false)).json()).toMatchObject({
      error: { code: 'TELLTALE_ERR_BODY_TOO_LARGE', limit: 4096 },
    });
    const bomb = await send(gzipSync(big), true);
    expect(bomb.statusCode).toBe(413);
    expect(bomb.json()).toMatchObject({
      error: { code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE', limit: 65_536 },
    });
    await small.close();
  });

  it("shares the ingest routes' per-key rate limit (429 + Retry-After), counted by route and reason", async () => {
    const metrics = createCollectorMetrics();
    const config = resolveCollectorConfig(
      {
        apps: [{ id: 'web', name: 'Web', ingestKeys: [INGEST], secretKeys: [SECRET] }],
        rateLimits: { perKey: { perSecond: 1, burst: 2 } },
      },
      {},
    );
    const logs = await openSpoolWriter({ dir: path.join(dir, 'spool', 'server') });
    const limited = await build(config, { spool, serverLogSpool: logs, metrics });
    // The clock stands still, so the bucket does not refill between requests on a slow machine.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const upload = () =>
        limited.inject({
          method: 'POST',
          url: '/v1/releases/2.0/sourcemaps',
          headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
          payload: JSON.stringify({ files: [{ name: '~/a.js', map: MAP }] }),
        });
      expect((await upload()).statusCode).toBe(201);
      // The same key's bucket as /v1/logs: a log line sent with it takes the second token.
      const log = await limited.inject({
        method: 'POST',
        url: '/v1/logs',
        headers: { 'x-telltale-key': SECRET, 'content-type': 'application/x-ndjson' },
        payload: JSON.stringify({ id: 'l1', ts: Date.now(), level: 'info', message: 'm', service: 's' }),
      });
      expect(log.statusCode).toBe(202);
      const refused = await upload();
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json()).toMatchObject({
        error: { code: 'TELLTALE_ERR_RATE_LIMITED', message: expect.stringContaining('this key') },
      });
      const snapshot = metrics.snapshot();
      expect(snapshot.rejectedByReason['sourcemaps TELLTALE_ERR_RATE_LIMITED rate_limited_key']).toBe(1);
      expect(snapshot.acceptedByApp['sourcemaps web']).toBe(1);
      // What /metrics renders, by route and reason.
      expect(await metrics.registry.metrics()).toContain(
        'telltale_collector_rejected_total{route="sourcemaps",code="TELLTALE_ERR_RATE_LIMITED",reason="rate_limited_key"} 1',
      );
      const unknown = await limited.inject({
        method: 'POST',
        url: '/v1/releases/2.0/sourcemaps',
        headers: { authorization: 'Bearer tt_unknown_0123456789abcdef', 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(unknown.statusCode).toBe(401);
      expect(metrics.snapshot().rejectedByReason['sourcemaps TELLTALE_ERR_UNAUTHORIZED unknown_key']).toBe(1);
    } finally {
      vi.useRealTimers();
      await limited.close();
      await logs.close();
    }
  });
});
