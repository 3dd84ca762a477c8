import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { addressKey, type Batch } from '@telltale/protocol';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import type { FastifyInstance } from 'fastify';
import {
  build,
  createCollectorMetrics,
  createQuotaLedger,
  resolveCollectorConfig,
  type CollectorOptions,
  type QuotaLedger,
} from '../src/index.js';
import { createPublicBudgets, MAX_BUDGET_KEYS } from '../src/public-budgets.js';
import {
  APPS,
  logCapture,
  makeBatch,
  startHarness,
  tempDir,
  WEB_KEY,
  WEB_SECRET,
  type Harness,
} from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const HOUR = 60 * 60 * 1000;
// Mid-hour, so the test's clock never straddles a window by accident.
const START = Date.UTC(2026, 0, 5, 10, 20, 0);

/** The review's batch scaled down: `events` messages of 8,000 "x", ~8 KB stored each, a few hundred bytes of gzip. */
const compressible = (events: number, overrides: Partial<Batch> = {}): Buffer =>
  gzipSync(
    JSON.stringify(
      makeBatch({
        events: Array.from({ length: events }, (_, i) => ({
          id: `x-${Math.random()}-${i}`,
          ts: Date.now(),
          kind: 'log' as const,
          level: 'info' as const,
          message: 'x'.repeat(8000),
        })),
        ...overrides,
      }),
    ),
  );

describe('public-key budgets: one client cannot use up an app’s day', () => {
  let h: Harness;
  let now = START;
  afterEach(() => h.close());

  /** A harness behind one trusted proxy, on a ledger with a clock the test moves. */
  const start = async (options: CollectorOptions, metrics = createCollectorMetrics()) => {
    now = START;
    const config = resolveCollectorConfig({ apps: APPS, ...options, trustProxy: 1 }, {});
    const quotas: QuotaLedger = createQuotaLedger(config.quotas, () => now);
    h = await startHarness({ ...options, trustProxy: 1 }, undefined, { metrics, quotas });
    return { metrics, quotas };
  };
  const batch = (body: Buffer, client: string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: body,
      headers: {
        'x-telltale-key': WEB_KEY,
        'content-type': 'text/plain',
        'content-encoding': 'gzip',
        'x-forwarded-for': client,
        ...headers,
      },
      remoteAddress: '10.0.0.1',
    });
  /**
   * The attacker's batches (25 events, ~200 KB stored) until refused, then single events (~8 KB)
   * until refused again, a new session each: how many were stored, and the two refusals.
   */
  const attack = async (client: string) => {
    let stored = 0;
    const refused = [];
    for (const events of [25, 1]) {
      for (;;) {
        const answer = await batch(compressible(events, { session: `attacker-${stored}` }), client);
        if (answer.statusCode !== 202) {
          refused.push(answer);
          break;
        }
        stored += 1;
        if (stored > 200) throw new Error('the attack was never refused');
      }
    }
    return { stored, refused };
  };
  // A real user's error with a long stack: one event, ~8 KB stored.
  const realUser = () => compressible(1, { session: 'real-user' });

  it('the review’s attack, without budgets: one address repeating a compressible batch silences the app for everyone', async () => {
    await start({ quotas: { bytesPerDay: 3 * MiB, bytesPerAddressPerHour: 0, bytesPerSessionPerDay: 0 } });
    const { stored, refused } = await attack('203.0.113.66');
    expect(stored).toBeGreaterThan(10); // 200 KB stored for each ~1 KB sent
    expect(refused[1]!.json().error).toMatchObject({
      code: 'TELLTALE_ERR_QUOTA_EXCEEDED',
      field: 'bytesPerDay',
    });
    // A real user's error from elsewhere is refused for the rest of the day.
    expect((await batch(realUser(), '198.51.100.7')).statusCode).toBe(429);
  });

  it('with them: the attacking address gets 429 naming its budget, while other addresses of the app are still stored', async () => {
    const { metrics, quotas } = await start({
      quotas: { bytesPerDay: 3 * MiB, bytesPerAddressPerHour: MiB },
    });
    // A new session per request does not help: the address is counted.
    const { stored, refused } = await attack('203.0.113.66');
    expect(stored).toBeGreaterThan(0);
    expect(quotas.usage('web').bytesToday).toBeLessThanOrEqual(MiB);
    expect(refused.map((r) => r.statusCode)).toEqual([429, 429]);
    expect(refused[1]!.json()).toEqual({
      error: {
        code: 'TELLTALE_ERR_CLIENT_QUOTA_EXCEEDED',
        field: 'bytesPerAddressPerHour',
        limit: MiB,
        message: expect.stringContaining('bytesPerAddressPerHour'),
      },
    });
    // Until the clock hour ends: 40 minutes from START.
    expect(Number(refused[1]!.headers['retry-after'])).toBe(40 * 60);
    expect(refused[1]!.headers['access-control-allow-origin']).toBe('*');
    expect((await batch(compressible(25), '203.0.113.66')).statusCode).toBe(429);

    expect((await batch(realUser(), '198.51.100.7')).statusCode).toBe(202);
    const sessions = (await h.envelopes()).map((e) => e.batch.session);
    expect(sessions.filter((s) => s.startsWith('attacker-'))).toHaveLength(stored);
    expect(sessions.at(-1)).toBe('real-user');

    // The next clock hour gives the address its budget again.
    now += 40 * 60 * 1000;
    expect((await batch(compressible(25), '203.0.113.66')).statusCode).toBe(202);

    expect(metrics.snapshot().rejectedByReason).toEqual({
      'batch TELLTALE_ERR_CLIENT_QUOTA_EXCEEDED budget_bytes_per_address_per_hour': 3,
    });
    const text = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(text.body).toContain(
      'telltale_collector_rejected_total{route="batch",code="TELLTALE_ERR_CLIENT_QUOTA_EXCEEDED",reason="budget_bytes_per_address_per_hour"} 3',
    );
  });

  it('holds one session to its day from any number of addresses; other sessions go on', async () => {
    await start({ quotas: { bytesPerAddressPerHour: 0, bytesPerSessionPerDay: MiB } });
    let stored = 0;
    for (; stored < 20; stored++) {
      const answer = await batch(compressible(25, { session: 'looping' }), `198.51.100.${stored}`);
      if (answer.statusCode !== 202) {
        expect(answer.json().error).toMatchObject({
          code: 'TELLTALE_ERR_CLIENT_QUOTA_EXCEEDED',
          field: 'bytesPerSessionPerDay',
          limit: MiB,
        });
        // Until UTC midnight.
        expect(Number(answer.headers['retry-after'])).toBe((24 * HOUR - (START % (24 * HOUR))) / 1000);
        break;
      }
    }
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(20);
    expect((await batch(compressible(25, { session: 'another' }), '198.51.100.1')).statusCode).toBe(202);
  });

  it('counts IPv6 clients by their /64', async () => {
    await start({ quotas: { bytesPerAddressPerHour: 500 * KiB } });
    const small = () => compressible(25);
    expect((await batch(small(), '2001:db8:1:2::1')).statusCode).toBe(202);
    expect((await batch(small(), '2001:db8:1:2::2')).statusCode).toBe(202);
    // A third address of the same /64 finds the two batches before it counted.
    const third = await batch(small(), '2001:db8:1:2:ffff:0:0:9');
    expect(third.json().error).toMatchObject({ field: 'bytesPerAddressPerHour' });
    expect((await batch(small(), '2001:db8:1:3::1')).statusCode).toBe(202);
    expect(addressKey('2001:DB8:1:2:0:0:0:1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('does not hold secret-key requests to them (server logs from the same address)', async () => {
    await start({ quotas: { bytesPerAddressPerHour: 2 * KiB } });
    const lines = JSON.stringify([
      { ts: Date.now(), level: 'info', service: 'api', message: 'y'.repeat(1500) },
    ]);
    for (let i = 0; i < 4; i++) {
      const logs = await h.app.inject({
        method: 'POST',
        url: '/v1/logs',
        payload: lines,
        headers: {
          authorization: `Bearer ${WEB_SECRET}`,
          'content-type': 'application/json',
          'x-forwarded-for': '203.0.113.66',
        },
        remoteAddress: '10.0.0.1',
      });
      expect(logs.statusCode).toBe(202);
    }
    expect(await h.serverLogEnvelopes()).toHaveLength(4);
    // The public key from that address is still held to its own budget.
    expect((await batch(compressible(1), '203.0.113.66')).statusCode).toBe(429);
  });

  it('takes an app’s own budget from the apps file (0 = off for that app)', async () => {
    const apps = [{ ...APPS[0]!, quotas: { bytesPerAddressPerHour: 0 } }, APPS[1]!];
    await start({ apps, quotas: { bytesPerAddressPerHour: 2 * KiB } });
    for (let i = 0; i < 3; i++) expect((await batch(compressible(5), '203.0.113.66')).statusCode).toBe(202);
  });

  it('refuses a public-key body past maxPublicDecompressedBytes: the review’s 8 MB from a few KB of gzip', async () => {
    // Off by default (the protocol's 10 MiB); an operator whose apps send only with the browser SDK lowers it.
    h = await startHarness({ limits: { maxPublicDecompressedBytes: 2 * MiB } });
    const bomb = compressible(1000); // 1000 × 8,000 characters
    expect(bomb.length).toBeLessThan(64 * KiB);
    const answer = await batch(bomb, '203.0.113.66');
    expect(answer.statusCode).toBe(413);
    expect(answer.json().error).toMatchObject({
      code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE',
      limit: 2 * MiB,
    });
    // A full SDK batch (60,000 characters of events) is far below it.
    expect((await batch(compressible(7), '203.0.113.66')).statusCode).toBe(202);
  });
});

describe('public-key budgets for attachments', () => {
  let h: Harness;
  afterEach(() => h.close());
  const report = gzipSync(JSON.stringify({ title: 'Export button does nothing', rows: 3 }));
  const upload = (query: string, remoteAddress: string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: `/v1/attachments?${query}`,
      payload: report,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...headers },
      remoteAddress,
    });

  it('a new ?session= per upload no longer escapes the limit: the address is counted too', async () => {
    h = await startHarness({ quotas: { attachmentsPerAddressPerDay: 4 } });
    for (let i = 0; i < 4; i++)
      expect((await upload(`key=${WEB_KEY}&session=made-up-${i}`, '203.0.113.66')).statusCode).toBe(202);
    const over = await upload(`key=${WEB_KEY}&session=made-up-9`, '203.0.113.66');
    expect(over.statusCode).toBe(429);
    expect(over.json().error).toMatchObject({
      code: 'TELLTALE_ERR_CLIENT_QUOTA_EXCEEDED',
      field: 'attachmentsPerAddressPerDay',
      limit: 4,
    });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    // Someone else still reports a bug; a server with the secret key is not held to it.
    expect((await upload(`key=${WEB_KEY}&session=real-user`, '198.51.100.7')).statusCode).toBe(202);
    expect(
      (await upload('session=made-up-9', '203.0.113.66', { authorization: `Bearer ${WEB_SECRET}` }))
        .statusCode,
    ).toBe(202);
  });

  it('caps the attachment bytes of one address per day', async () => {
    h = await startHarness({ quotas: { attachmentBytesPerAddressPerDay: 2 * report.length } });
    expect((await upload(`key=${WEB_KEY}&session=a`, '203.0.113.66')).statusCode).toBe(202);
    expect((await upload(`key=${WEB_KEY}&session=b`, '203.0.113.66')).statusCode).toBe(202);
    const over = await upload(`key=${WEB_KEY}&session=c`, '203.0.113.66');
    expect(over.json().error).toMatchObject({
      field: 'attachmentBytesPerAddressPerDay',
      limit: 2 * report.length,
    });
  });
});

describe('public budget ledger', () => {
  const app = resolveCollectorConfig({ apps: APPS }, {}).apps[0]!;
  const limits = { bytesPerAddressPerHour: 100, bytesPerSessionPerDay: 1000 };
  const limitOf = (_app: unknown, name: string) => limits[name as keyof typeof limits] ?? 0;

  it('logs a client’s refusal once per window, without its address or session, and gives room back on release', () => {
    let now = START;
    const budgets = createPublicBudgets(limitOf, () => now);
    const warnings: Array<{ details: object; message: string }> = [];
    const log = { warn: (details: object, message: string) => warnings.push({ details, message }) };
    const client = { address: '203.0.113.66', session: 'session-secret-1', log };
    const first = budgets.admitBytes(app, client, 60);
    expect(first.ok).toBe(true);
    for (let i = 0; i < 3; i++) expect(budgets.admitBytes(app, client, 60).ok).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.details).toMatchObject({ app: 'web', budget: 'bytesPerAddressPerHour', limit: 100 });
    expect(JSON.stringify(warnings)).not.toMatch(/203\.0\.113|session-secret/);
    // A failed store gives its bytes back.
    if (first.ok) first.admission.release();
    expect(budgets.admitBytes(app, client, 60).ok).toBe(true);
    now += HOUR;
    expect(budgets.admitBytes(app, client, 60).ok).toBe(true);
    expect(budgets.admitBytes(app, client, 60).ok).toBe(false);
    expect(warnings).toHaveLength(2);
  });

  it('keeps at most MAX_BUDGET_KEYS counters and forgets them all when their window ends', () => {
    let now = START;
    const budgets = createPublicBudgets(limitOf, () => now);
    for (let i = 0; i <= MAX_BUDGET_KEYS; i++)
      budgets.admitBytes(app, { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }, 1);
    expect(budgets.sizes().addressBytes).toBe(MAX_BUDGET_KEYS);
    now += HOUR;
    budgets.admitBytes(app, { address: '10.0.0.1' }, 1);
    expect(budgets.sizes().addressBytes).toBe(1);
  });
});

describe('public budget settings', () => {
  const config = (options: CollectorOptions, env: Record<string, string> = {}) =>
    resolveCollectorConfig({ apps: APPS, ...options }, env);

  it('reads them from the environment, validates them at start-up naming the variable', () => {
    expect(config({}).quotas).toMatchObject({
      bytesPerAddressPerHour: 16 * MiB,
      bytesPerSessionPerDay: 64 * MiB,
      attachmentsPerAddressPerDay: 20,
      attachmentBytesPerAddressPerDay: 16 * MiB,
    });
    expect(config({}).limits.maxPublicDecompressedBytes).toBe(10 * MiB);
    const env = {
      TELLTALE_QUOTA_BYTES_PER_ADDRESS_PER_HOUR: '1048576',
      TELLTALE_QUOTA_BYTES_PER_SESSION_PER_DAY: '0',
      TELLTALE_QUOTA_ATTACHMENTS_PER_ADDRESS_PER_DAY: '5',
      TELLTALE_QUOTA_ATTACHMENT_BYTES_PER_ADDRESS_PER_DAY: '65536',
      TELLTALE_MAX_PUBLIC_DECOMPRESSED_BYTES: '262144',
    };
    expect(config({}, env).quotas).toMatchObject({
      bytesPerAddressPerHour: MiB,
      bytesPerSessionPerDay: 0,
      attachmentsPerAddressPerDay: 5,
      attachmentBytesPerAddressPerDay: 64 * KiB,
    });
    expect(config({}, env).limits.maxPublicDecompressedBytes).toBe(256 * KiB);
    // Below a lowered maxDecompressedBytes by default, never above it.
    expect(config({ limits: { maxDecompressedBytes: MiB } }).limits.maxPublicDecompressedBytes).toBe(MiB);
    expect(() =>
      config(
        {},
        { TELLTALE_MAX_DECOMPRESSED_BYTES: '1048576', TELLTALE_MAX_PUBLIC_DECOMPRESSED_BYTES: '2097152' },
      ),
    ).toThrow(/limits\.maxPublicDecompressedBytes: must not exceed limits\.maxDecompressedBytes/);
    expect(() => config({}, { TELLTALE_QUOTA_BYTES_PER_ADDRESS_PER_HOUR: '16MB' })).toThrow(
      /TELLTALE_QUOTA_BYTES_PER_ADDRESS_PER_HOUR:/,
    );
    expect(() => config({ apps: [{ ...APPS[0]!, quotas: { bytesPerSessionPerDay: -1 } }] })).toThrow(
      /apps\[0\]\.quotas\.bytesPerSessionPerDay:/,
    );
  });
});

describe('public budget logging', () => {
  let app: FastifyInstance;
  let spool: SpoolWriter;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  afterEach(async () => {
    await app.close();
    await spool.close();
    await tmp.remove();
  });

  it('logs the first refusal of a client in a window once, naming the app and budget, not the client', async () => {
    tmp = await tempDir();
    spool = await openSpoolWriter({ dir: path.join(tmp.dir, 'spool') });
    const { lines, stream } = logCapture();
    const config = resolveCollectorConfig({ apps: APPS, quotas: { bytesPerAddressPerHour: 600 } }, {});
    app = await build(config, { spool, logger: { level: 'warn', stream } });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const answer = await app.inject({
        method: 'POST',
        url: '/v1/batch',
        payload: JSON.stringify(makeBatch({ session: 'customer-session-42' })),
        headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
        remoteAddress: '203.0.113.66',
      });
      codes.push(answer.statusCode);
    }
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(2);
    const warnings = lines.filter((line) => line.includes('over its budget'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ app: 'web', budget: 'bytesPerAddressPerHour' });
    expect(lines.join('')).not.toMatch(/203\.0\.113\.66|customer-session-42/);
  });
});
