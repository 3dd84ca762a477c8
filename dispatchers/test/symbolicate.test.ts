import { readFile } from 'node:fs/promises';
import path from 'node:path';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { build, resolveCollectorConfig } from '@telltale/collector';
import {
  artifactsRoot,
  createRegroup,
  createSymbolicator,
  enrichEnvelope,
  regroupingSink,
  WIRE_ENCODERS,
  type EncodedEvents,
  type Sink,
  parseStack,
  type EnrichedEvent,
  type Symbolicator,
} from '@telltale/dispatchers';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, errorEvent, tempDir } from './helpers.js';
import { buildShop, type ShopBuild } from './fixtures/shop-app.js';

const SECRET = 'tt_secret_shop_0123456789abcdef';
const INGEST = 'tt_ingest_shop_0123456789abcdef';
const ORIGIN = 'https://shop.example.com';

/** Runs a build in V8 (a fresh vm context, the script loaded from its URL) and returns its real stacks. */
async function stacksOf(shop: ShopBuild): Promise<{ checkout: string; redeem: string }> {
  const code = await readFile(path.join(shop.dir, shop.script), 'utf8');
  const context = vm.createContext({ console: { debug: () => undefined } });
  vm.runInContext(code, context, { filename: `${ORIGIN}/${shop.script}` });
  const run = (name: string): string => {
    try {
      (context as { shop: Record<string, () => unknown> }).shop[name]!();
    } catch (error) {
      // Only the app's own frames: the test's frames below them are not part of the page.
      const lines = ((error as Error).stack ?? '').split('\n');
      return [lines[0], ...lines.slice(1).filter((line) => line.includes(ORIGIN))].join('\n');
    }
    throw new Error(`${name} did not throw`);
  };
  return { checkout: run('checkout'), redeem: run('redeem') };
}

describe('source maps: upload, symbolication, grouping on original code', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let collector: FastifyInstance;
  let spool: SpoolWriter;
  let symbolicator: Symbolicator;
  let one: ShopBuild;
  let two: ShopBuild;
  let stacks1: { checkout: string; redeem: string };
  let stacks2: { checkout: string; redeem: string };

  async function upload(release: string, shop: ShopBuild, as = shop.script): Promise<void> {
    const map = await readFile(path.join(shop.dir, `${shop.script}.map`), 'utf8');
    const response = await collector.inject({
      method: 'POST',
      url: `/v1/releases/${encodeURIComponent(release)}/sourcemaps`,
      headers: {
        authorization: `Bearer ${SECRET}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      payload: gzipSync(JSON.stringify({ files: [{ name: `${ORIGIN}/${as}`, map }] })),
    });
    expect(response.statusCode, response.body).toBe(201);
  }

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    [one, two] = [await buildShop(dir, 1), await buildShop(dir, 2)];
    [stacks1, stacks2] = await Promise.all([stacksOf(one), stacksOf(two)]);
    spool = await openSpoolWriter({ dir: path.join(dir, 'data', 'spool', 'client') });
    const config = resolveCollectorConfig(
      { apps: [{ id: 'shop', name: 'Shop', ingestKeys: [INGEST], secretKeys: [SECRET] }] },
      {},
    );
    collector = await build(config, { spool });
    symbolicator = createSymbolicator({ artifactsRoot: artifactsRoot(path.join(dir, 'data')), cacheSize: 2 });
  });

  afterAll(async () => {
    symbolicator?.close();
    await collector?.close();
    await spool?.close();
    await cleanup?.();
  });

  it('shows a minified V8 stack as original function, file, line and column', async () => {
    expect(one.script).not.toBe(two.script); // two builds, two content hashes
    await upload('1.4.2', one);
    const raw = parseStack(stacks1.checkout);
    expect(raw[0]?.function).toMatch(/^[a-z]$/); // minified
    const { frames, problems } = await symbolicator.symbolicate({
      app: 'shop',
      release: '1.4.2',
      frames: raw,
    });
    expect(problems).toEqual([]);
    expect(frames.slice(0, 4).map((f) => [f.function, f.file, f.line, f.inApp])).toEqual([
      ['renderCart', 'shop/src/cart.ts', 5, true],
      ['handleCheckout', 'shop/src/store.ts', 14, true],
      ['Store.dispatch', 'shop/src/store.ts', 7, true],
      ['checkout', 'shop/src/main.ts', 6, true],
    ]);
    expect(frames[0]?.column).toBe(23); // `cart!.items!` — the property read that threw
    expect(frames[0]?.context).toBe('const total = cart!.items!.reduce((sum, item) => sum + item.price, 0);');
    // The frame as the browser reported it is kept beside the original one.
    expect(frames[0]?.raw).toMatchObject({
      file: `${ORIGIN}/${one.script}`,
      line: 1,
      column: raw[0]?.column,
    });
  });

  it('groups one bug across two builds with different hashes, and keeps two bugs apart', async () => {
    await upload('1.4.2', two);
    const row = (id: string, stack: string, receivedAt: number): EnrichedEvent => {
      const env = envelope(`b-${id}`, [errorEvent(id, { stack, message: 'x' })]);
      return enrichEnvelope({ ...env, receivedAt })[0]!;
    };
    const later = Date.now() + 60_000;
    const events = [
      row('a1', stacks1.checkout, later),
      row('a2', stacks2.checkout, later),
      row('b1', stacks1.redeem, later),
      row('b2', stacks2.redeem, later),
    ];
    // On the minified stacks alone the builds disagree (other names): maps are what makes them one group.
    expect(events[0]?.fingerprint).not.toBe(events[1]?.fingerprint);
    const grouped = await createRegroup(symbolicator)(events);
    const [a1, a2, b1, b2] = grouped.map((e) => e.fingerprint);
    expect(a2).toBe(a1);
    expect(b2).toBe(b1);
    expect(b1).not.toBe(a1);
    // Maps uploaded after the batch arrived do not count: a replay groups the same way as the first pass.
    const early = await createRegroup(symbolicator)([row('a0', stacks1.checkout, 1)]);
    expect(early[0]?.fingerprint).toBe(events[0]?.fingerprint);
  });

  it('regroups rows for a release with maps even when the sink takes wire bytes; other releases keep the bytes', async () => {
    await upload('1.4.2', two);
    const regroup = createRegroup(symbolicator);
    const calls: string[] = [];
    let stored: EnrichedEvent[] = [];
    const bytesSink: Sink = {
      name: 'bytes',
      encoding: 'clickhouse-tsv',
      export: async (events) => {
        calls.push('rows');
        stored = events;
        return { status: 'ok' };
      },
      exportEncoded: async () => {
        calls.push('bytes');
        return { status: 'ok' };
      },
      close: async () => undefined,
    };
    const sink = regroupingSink(bytesSink, regroup);
    const later = Date.now() + 60_000;
    const rows = (release: string) =>
      enrichEnvelope({
        ...envelope(
          `b-${release}`,
          [errorEvent(`r-${release}`, { stack: stacks2.checkout, message: 'x' })],
          'shop',
          { release },
        ),
        receivedAt: later,
      });
    const batch = (release: string): EncodedEvents => ({
      chunks: [Buffer.from(WIRE_ENCODERS['clickhouse-tsv']!(rows(release)))],
      rows: 1,
      regroupable: new Set([`shop\u0000${release}`]),
      events: async () => rows(release),
    });
    expect(await sink.exportEncoded!(batch('7.7.7'), [])).toEqual({ status: 'ok' });
    expect(calls).toEqual(['bytes']);
    expect(await sink.exportEncoded!(batch('1.4.2'), [])).toEqual({ status: 'ok' });
    expect(calls).toEqual(['bytes', 'rows']);
    // The rows stored carry the fingerprint of the original code, as the row path would store them.
    expect(stored.map((e) => e.fingerprint)).toEqual(
      (await regroup(rows('1.4.2'))).map((e) => e.fingerprint),
    );
    expect(stored[0]?.fingerprint).not.toBe(rows('1.4.2')[0]?.fingerprint);
  });

  it('says which file it looked for and what was uploaded when a map is missing or belongs to another build', async () => {
    const none = await symbolicator.symbolicate({
      app: 'shop',
      release: '9.9.9',
      frames: parseStack(stacks1.checkout),
    });
    expect(none.frames.every((f) => !f.symbolicated)).toBe(true);
    expect(none.problems).toEqual([
      expect.objectContaining({
        kind: 'no-maps-for-release',
        lookedFor: `/${one.script}`,
        releasesWithMaps: ['1.4.2'],
      }),
    ]);

    await upload('2.0.0', one);
    const missing = await symbolicator.symbolicate({
      app: 'shop',
      release: '2.0.0',
      frames: parseStack(stacks2.checkout),
    });
    expect(missing.problems).toHaveLength(1);
    expect(missing.problems[0]).toMatchObject({
      kind: 'missing-map',
      lookedFor: `/${two.script}`,
      uploaded: [`/${one.script}`],
    });
    expect(missing.problems[0]?.message).toContain(`No source map for /${two.script} in release 2.0.0`);

    // Build one's map uploaded under build two's name: the positions fall between its mappings.
    await upload('3.0.0', one, two.script);
    const wrong = await symbolicator.symbolicate({
      app: 'shop',
      release: '3.0.0',
      frames: parseStack(stacks2.checkout),
    });
    expect(wrong.problems.map((p) => p.kind)).toEqual(['mismatch']);
    expect(wrong.problems[0]?.message).toContain('probably belongs to another build');
  });

  it('keeps at most the configured number of parsed maps', () => {
    expect(symbolicator.stats().cachedMaps).toBeLessThanOrEqual(2);
    expect(symbolicator.stats().evictions).toBeGreaterThan(0);
  });
});
