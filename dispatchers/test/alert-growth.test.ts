import { appendFile, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enrichEnvelope, resolveDispatcherConfig, type EnrichedEvent } from '@telltale/dispatchers';
import {
  alertLogFile,
  openAlertLog,
  type AlertLog,
  type AlertRecord,
  createAlerter,
  type Alerter,
  type AlerterOptions,
  createMailer,
  type Mailer,
} from '../src/alerts/index.js';
import { groupStatesFile, openGroupStates, MAX_LINE_BYTES } from '../src/intelligence/index.js';
import { envelope, errorEvent, featureEvent, tempDir, waitFor } from './helpers.js';
import { parseMail } from '../../test-support/smtp.js';

const DASHBOARD = 'https://telltale.example.com';
const DAY = 86_400_000;

/** Letters only: digits would be parameterised away and every message would be one group. */
function word(n: number): string {
  return String.fromCharCode(97 + Math.floor(n / 676), 97 + (Math.floor(n / 26) % 26), 97 + (n % 26));
}

/** `count` errors that fingerprint apart (one group each), as the dispatchers enrich them. */
function uniqueErrors(app: string, count: number, from = 0): EnrichedEvent[] {
  const events = Array.from({ length: count }, (_, i) =>
    errorEvent(`${app}-${from + i}`, {
      type: 'Error',
      message: `step ${word(from + i)} failed`,
      stack: undefined,
    }),
  );
  return enrichEnvelope(envelope(`${app}-batch-${from}`, events, app));
}

describe('bounded alert state: per-app key cap, compaction, retention, streamed reads', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let log: AlertLog | undefined;
  let alerter: Alerter | undefined;
  let mailer: Mailer | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });

  afterEach(async () => {
    await alerter?.close();
    await mailer?.close();
    await log?.close();
    alerter = mailer = log = undefined;
    await cleanup();
  });

  /** An alerter over the real log and the outbox mailer (.eml files), as startDispatchers builds it. */
  async function start(options: Partial<AlerterOptions> = {}): Promise<Alerter> {
    await alerter?.close();
    await mailer?.close();
    await log?.close();
    log = await openAlertLog(dir);
    mailer = createMailer(resolveDispatcherConfig({ dataDir: dir, dashboardUrl: DASHBOARD }, {}));
    alerter = createAlerter({ dataDir: dir, dashboardUrl: DASHBOARD, log, mailer, ...options });
    return alerter;
  }

  const settled = (a: Alerter) =>
    waitFor('no alert pending', async () => (await a.listAlerts()).every((x) => x.status !== 'pending'));

  it('records at most the cap of new keys per app per window, tallies the rest into the digest, and leaves other apps alone', async () => {
    const cap = 20;
    const windowMs = 3_600_000;
    // Every decision falls in one window that ends a few seconds from now, so its digest follows soon.
    const decidedAt = (Math.floor(Date.now() / windowMs) + 1) * windowMs - 5_000;
    const options = { maxNewKeysPerApp: cap, maxPerWindow: 3, windowMs, now: () => decidedAt };
    let a = await start(options);
    await a.process([...uniqueErrors('flood', 500), ...uniqueErrors('calm', 2)]);
    // The flood goes on in later batches of the same window: the same keys are not counted twice.
    await a.process(uniqueErrors('flood', 100, 450));

    const alerts = await a.listAlerts();
    const recorded = alerts.filter((x) => x.kind === 'new-error' && !x.key.startsWith('overflow:'));
    expect(recorded.filter((x) => x.app === 'flood')).toHaveLength(cap);
    expect(recorded.filter((x) => x.app === 'calm')).toHaveLength(2);
    expect(a.stats().notRecorded).toBe(530);
    expect(a.stats().notRecordedByApp).toEqual({ flood: { 'new-error': 530 } });
    const tally = alerts.find((x) => x.key.startsWith('overflow:'));
    expect(tally).toMatchObject({ app: 'flood', kind: 'new-error', count: 530, status: 'deferred' });
    // One tally line per batch at most, never one line per dropped key.
    const lines = (await readFile(alertLogFile(dir), 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(2 * (cap + 2) + 5);

    // A restart inside the window keeps both the cap and the tally.
    a = await start(options);
    await a.process(uniqueErrors('flood', 10, 1_000));
    expect(a.stats().notRecorded).toBe(10);

    const digest = await waitFor('the digest', async () =>
      (await a.listAlerts()).find((x) => x.kind === 'digest' && x.status === 'sent'),
    );
    const mail = await parseMail((await a.readAlert(digest.key)) ?? '');
    expect(mail.text).toContain('… and 540 more new errors in flood were not recorded individually');
    // The flood took the window's 3 emails; the other 17 it recorded, and the calm app's 2, are listed one by one.
    expect(mail.subject).toBe('[Telltale] Digest: 559 more alerts (559 new-error)');
    const listed = mail.text.split('\n').filter((line) => line.startsWith('- New error in '));
    expect(listed.filter((line) => line.startsWith('- New error in flood:'))).toHaveLength(cap - 3);
    expect(listed.filter((line) => line.startsWith('- New error in calm:'))).toHaveLength(2);
    const after = await a.listAlerts();
    expect(after.filter((x) => x.app === 'calm').map((x) => x.status)).toEqual(['digested', 'digested']);
    expect(after.find((x) => x.key.startsWith('overflow:'))).toMatchObject({
      status: 'digested',
      count: 540,
    });
  });

  it('compacts a log of superseded lines on start and keeps each alert single across a restart', async () => {
    let a = await start();
    const events = uniqueErrors('shop', 3);
    await a.process(events);
    await settled(a);
    await a.close();
    await log!.close();
    alerter = log = undefined;

    // Thousands of repeated lines for the same keys, as a long life of retries and re-sends leaves them.
    const file = alertLogFile(dir);
    const records = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AlertRecord)
      .filter((r) => r.status === 'sent');
    await appendFile(
      file,
      Array.from({ length: 1_200 }, (_, i) => `${JSON.stringify(records[i % records.length])}\n`).join(''),
    );

    a = await start();
    await waitFor('the log compacted', () => a.stats().log.compactions === 1);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(3);
    // The same errors again, and once more after another restart: no alert is decided twice.
    await a.process(events);
    a = await start();
    await a.process(events);
    await a.process(uniqueErrors('shop', 1, 99));
    await settled(a);
    const alerts = await a.listAlerts();
    expect(alerts).toHaveLength(4);
    expect(alerts.every((x) => x.status === 'sent')).toBe(true);
  });

  it('drops finished alerts past retention but never lets their error alert as new again', async () => {
    const old = Date.now() - 200 * DAY;
    let a = await start({ now: () => old });
    const events = uniqueErrors('shop', 2);
    await a.process(events.slice(0, 1));
    await settled(a);
    a = await start({ retentionDays: 365 });
    await a.process(events.slice(1));
    await settled(a);
    expect(a.stats().log.expired).toBe(0);
    a = await start({ retentionDays: 90 });
    await waitFor('retention ran', () => a.stats().log.expired === 1);

    const alerts = await a.listAlerts();
    expect(alerts.map((x) => x.key)).toEqual([`new-error:shop:${events[1]!.fingerprint ?? ''}`]);
    // What is left of the old alert is its key alone.
    const text = await readFile(alertLogFile(dir), 'utf8');
    expect(text).toContain(
      JSON.stringify({ key: `new-error:shop:${events[0]!.fingerprint ?? ''}`, seen: true }),
    );
    expect(text).not.toContain(new Date(old).toISOString());

    // The old error happens again, before and after another restart: nothing new is recorded or sent.
    await a.process(events.slice(0, 1));
    a = await start({ retentionDays: 90 });
    await a.process(events.slice(0, 1));
    expect(await a.listAlerts()).toHaveLength(1);
    expect(a.stats().log.seen).toBe(1);
  });

  it('reads a large log line by line: every record, a torn tail cut, a damaged line skipped', async () => {
    const file = alertLogFile(dir);
    await mkdir(path.dirname(file), { recursive: true });
    const count = 60_000;
    const base = Date.parse('2024-05-01T00:00:00.000Z');
    const record = (i: number): AlertRecord => ({
      key: `first-feature:shop:feature-${i}`,
      kind: 'first-feature',
      app: 'shop',
      subject: `[Telltale] First use of feature "feature-${i}" in shop`,
      createdAt: new Date(base + i * 1000).toISOString(),
      status: 'sent',
      transport: 'outbox',
      link: `${DASHBOARD}/features`,
    });
    const chunks: string[] = [];
    for (let i = 0; i < count; i += 1) {
      chunks.push(`${JSON.stringify(record(i))}\n`);
      // A line too long to be a record (disk trouble) sits in the middle, with its newline.
      if (i === 100) chunks.push(`${'x'.repeat(MAX_LINE_BYTES + 10)}\n`);
    }
    chunks.push('{"key":"first-feature:shop:torn","kind":"first-feat');
    await writeFile(file, chunks.join(''));
    expect((await stat(file)).size).toBeGreaterThan(MAX_LINE_BYTES + 10_000_000);

    const loaded = await openAlertLog(dir);
    try {
      expect(loaded.size().records).toBe(count);
      expect(loaded.has('first-feature:shop:feature-0')).toBe(true);
      expect(loaded.has(`first-feature:shop:feature-${count - 1}`)).toBe(true);
      expect(loaded.has('first-feature:shop:torn')).toBe(false);
      expect((await readFile(file, 'utf8')).endsWith('\n')).toBe(true);
      // Pages come from the index: newest first, and a cursor continues where the last page ended.
      const first = loaded.list({ limit: 2 });
      expect(first.map((x) => x.key)).toEqual([
        `first-feature:shop:feature-${count - 1}`,
        `first-feature:shop:feature-${count - 2}`,
      ]);
      const last = first[1]!;
      const next = loaded.list({ limit: 1, before: { time: Date.parse(last.createdAt), key: last.key } });
      expect(next.map((x) => x.key)).toEqual([`first-feature:shop:feature-${count - 3}`]);
    } finally {
      await loaded.close();
    }
  });

  it('compacts the group states to one line per group and keeps the resolution count', async () => {
    const states = await openGroupStates(dir);
    try {
      for (let i = 0; i < 520; i += 1) {
        await states.resolve('shop', 'fp-a');
        await states.reopen('shop', 'fp-a');
      }
      await states.ignore('shop', 'fp-b');
    } finally {
      await states.close();
    }
    const lines = (await readFile(groupStatesFile(dir), 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(100);
    const again = await openGroupStates(dir);
    try {
      expect(again.get('shop', 'fp-a')).toMatchObject({ status: 'open', resolution: 520 });
      expect(again.get('shop', 'fp-b')?.status).toBe('ignored');
      // The next resolve counts on from there, so its regression key is a new one.
      expect((await again.resolve('shop', 'fp-a')).resolution).toBe(521);
    } finally {
      await again.close();
    }
  });

  it('records features and asserts under the same cap', async () => {
    const a = await start({ maxNewKeysPerApp: 5 });
    const features = Array.from({ length: 30 }, (_, i) => featureEvent(`f-${i}`, `feature-${word(i)}`));
    await a.process(enrichEnvelope(envelope('features', features, 'shop')));
    const recorded = (await a.listAlerts()).filter((x) => !x.key.startsWith('overflow:'));
    expect(recorded).toHaveLength(5);
    expect(a.stats().notRecordedByApp).toEqual({ shop: { 'first-feature': 25 } });
  });
});
