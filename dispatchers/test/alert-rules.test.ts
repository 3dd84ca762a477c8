import { rm } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';
import { openSpoolWriter, type SpoolPosition, type SpoolWriter } from '@telltale/spool';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fingerprintError,
  resolveDispatcherConfig,
  startDispatchers,
  type DispatcherOptions,
  type Dispatchers,
} from '@telltale/dispatchers';
import { ERROR_STACK, envelope, errorEvent, featureEvent, payload, tempDir, waitFor } from './helpers.js';
import { startSmtpServer, type ReceivedMail } from '../../test-support/smtp.js';

const DASHBOARD = 'https://telltale.example.com';
const RECIPIENT = 'founder@example.com';
const FP_CART = fingerprintError({ type: 'TypeError', message: '', stack: ERROR_STACK });
const COUPON_STACK = ERROR_STACK.replace('renderCart', 'applyCoupon');

/** Letters only: digits would be parameterised away and every message would be one group. */
function word(n: number): string {
  return String.fromCharCode(97 + Math.floor(n / 26), 97 + (n % 26));
}

describe('alert rules: lifecycle, regressions, asserts, first use per account, mute rules, throttling', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let writer: SpoolWriter;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let d: Dispatchers | undefined;
  let last: SpoolPosition = { segment: 0, offset: 0 };

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    writer = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    smtp = await startSmtpServer();
  });

  afterEach(async () => {
    await d?.close();
    d = undefined;
    await writer.close();
    duckdb.closeSync();
    await smtp.close();
    await cleanup();
  });

  async function start(options: DispatcherOptions = {}): Promise<Dispatchers> {
    await d?.close();
    const config = resolveDispatcherConfig(
      {
        dataDir: dir,
        dashboardUrl: DASHBOARD,
        pollMs: 50,
        smtpUrl: smtp.url,
        alertTo: RECIPIENT,
        ...options,
      },
      {},
    );
    d = await startDispatchers(config, { duckdb, spoolDir: writer.dir, notify: (l) => writer.onAppend(l) });
    return d;
  }

  /** A batch received now (regressions count only what arrives after the resolve). */
  async function send(batchId: string, events: TelltaleEvent[], release = '1.4.2'): Promise<void> {
    const env: SpoolEnvelope = { ...envelope(batchId, events, 'shop', { release }), receivedAt: Date.now() };
    last = await writer.append(payload(env));
  }

  async function drained(): Promise<void> {
    const past = (p: SpoolPosition | undefined): boolean =>
      p !== undefined && (p.segment > last.segment || (p.segment === last.segment && p.offset > last.offset));
    await waitFor('every consumer past the last record', () =>
      d!.stats().consumers.every((c) => past(c.position)),
    );
    // Decided alerts leave the log as sent (or muted / deferred) before anything is counted.
    await waitFor('no alert pending', async () =>
      (await d!.listAlerts()).every((a) => a.status !== 'pending'),
    );
  }

  const mails = (text: string): ReceivedMail[] => smtp.messages.filter((m) => m.subject.includes(text));

  it('emails a new error, first uses, a new failing assert and a regression once each; mutes what a rule matches', async () => {
    await start({ alertFirstUsePerAccount: true });
    await send('b-1', [
      errorEvent('e-1'),
      { ...featureEvent('f-1', 'export-csv') },
      {
        kind: 'assert',
        id: 'a-1',
        ts: 1_714_000_000_000,
        name: 'cart-total-matches',
        soft: false,
        vars: { items: 3 },
      },
    ]);
    // The account's first use: the batch carries the account id.
    last = await writer.append(
      payload({
        ...envelope('b-2', [featureEvent('f-2', 'export-csv')], 'shop', { account: 'acme' }),
        receivedAt: Date.now(),
      }),
    );
    await waitFor('four emails', () => smtp.messages.length >= 4);
    await drained();
    expect(smtp.messages.map((m) => m.subject).sort()).toEqual(
      [
        "[Telltale] New error in shop: TypeError: Cannot read properties of undefined (reading 'items')",
        '[Telltale] First use of feature "export-csv" in shop',
        '[Telltale] Account acme used "export-csv" for the first time (shop)',
        '[Telltale] New failing assert in shop: cart-total-matches',
      ].sort(),
    );
    expect(smtp.messages.every((m) => m.to.length === 1 && m.to[0] === RECIPIENT)).toBe(true);
    const error = mails('New error')[0]!;
    // What, where (top frames), how many users, browser and release, and the link to the group.
    expect(error.text).toContain('What:');
    expect(error.text).toContain('at renderCart (https://shop.example.com/assets/app.3f9a2c1b.js:3:15)');
    expect(error.text).toContain('at handleCheckout (https://shop.example.com/assets/app.3f9a2c1b.js:6:10)');
    expect(error.text).toMatch(/Users:\s+1 so far/);
    expect(error.text).toContain('Chrome 124.0.0.0 on Windows 10');
    expect(error.text).toMatch(/Release:\s+1\.4\.2/);
    expect(error.text).toContain(`${DASHBOARD}/errors/${FP_CART}?app=shop`);
    expect(error.raw).toMatch(/Content-Type: text\/html/i); // and an HTML part
    expect(mails('cart-total-matches')[0]?.text).toContain('{"items":3}');

    // Resolved as fixed in 1.4.3: the old release still failing is expected, the new one failing is a regression.
    const resolved = await d!.issues.resolve('shop', FP_CART, { release: '1.4.3', knownReleases: ['1.4.2'] });
    expect(resolved.status).toBe('resolved');
    await send('b-3', [errorEvent('e-3')], '1.4.2');
    await drained();
    expect(smtp.messages).toHaveLength(4);
    await send('b-4', [errorEvent('e-4')], '1.4.3');
    await waitFor('the regression email', () => mails('Regression').length >= 1);
    await send('b-5', [errorEvent('e-5')], '1.4.3');
    await drained();
    expect(mails('Regression')).toHaveLength(1);
    const regression = mails('Regression')[0]!;
    expect(regression.subject).toBe(
      "[Telltale] Regression in shop: TypeError: Cannot read properties of undefined (reading 'items')",
    );
    expect(regression.text).toMatch(/Resolved:\s+\S+ in release 1\.4\.3/);
    expect(regression.text).toMatch(/Seen again in:\s+1\.4\.3/);
    expect((await d!.issues.groupState('shop', FP_CART))?.status).toBe('regressed');

    // An ignored group never emails again, not even when it comes back after a resolve.
    await send('b-6', [errorEvent('e-6', { stack: COUPON_STACK })]);
    await waitFor('the second new error', () => mails('New error').length >= 2);
    const couponFp = fingerprintError({ type: 'TypeError', message: '', stack: COUPON_STACK });
    await d!.issues.resolve('shop', couponFp);
    await d!.issues.ignore('shop', couponFp);
    await send('b-7', [errorEvent('e-7', { stack: COUPON_STACK })], '1.5.0');

    // A mute rule (globs, case-insensitive) stops the email of a group it matches; the alert is still listed.
    const rule = await d!.issues.addMuteRule({ message: '*resizeobserver loop*', note: 'browser noise' });
    expect(rule.ok).toBe(true);
    await send('b-8', [
      errorEvent('e-8', { type: 'Error', message: 'ResizeObserver loop limit exceeded', stack: undefined }),
    ]);
    await drained();
    expect(smtp.messages).toHaveLength(6);
    const muted = (await d!.listAlerts()).find((a) => a.status === 'muted');
    expect(muted).toMatchObject({ kind: 'new-error', mutedBy: rule.ok ? rule.rule.id : '' });

    // Restart and replay everything through the alerter: the durable log decides, nothing is sent again.
    await d!.close();
    d = undefined;
    await rm(path.join(dir, 'checkpoints', 'alerts.json'));
    await start({ alertFirstUsePerAccount: true });
    await send('b-9', [featureEvent('f-9', 'e2e-marker')]);
    await waitFor('the marker email', () => mails('e2e-marker').length === 1);
    await drained();
    expect(smtp.messages).toHaveLength(7);
  });

  it('sends at most N emails per kind per window and one digest with the rest, once, across a restart', async () => {
    const limit = 3;
    await start({ alertLimit: limit, alertWindowMs: 3_000 });
    const errors = Array.from({ length: 50 }, (_, i) =>
      errorEvent(`burst-${i}`, {
        type: 'Error',
        message: `checkout step ${word(i)} failed`,
        stack: undefined,
      }),
    );
    await send('burst', errors);
    await waitFor('the digest', () => mails('Digest').length >= 1, 20_000);
    await drained();
    expect(mails('New error')).toHaveLength(limit);
    expect(mails('Digest')).toHaveLength(1);
    const digest = mails('Digest')[0]!;
    expect(digest.subject).toBe('[Telltale] Digest: 47 more alerts (47 new-error)');
    expect(digest.to).toEqual([RECIPIENT]);
    // Every held-back group is in it, with its link.
    const listed = digest.text
      .split('\n')
      .filter((line) => line.startsWith('- New error in shop: Error: checkout step'));
    expect(listed).toHaveLength(47);
    expect(digest.text).toContain(`${DASHBOARD}/errors/`);
    const alerts = await d!.listAlerts();
    expect(alerts.filter((a) => a.status === 'digested')).toHaveLength(47);
    expect(alerts.filter((a) => a.kind === 'digest' && a.status === 'sent')).toHaveLength(1);

    await d!.close();
    d = undefined;
    await rm(path.join(dir, 'checkpoints', 'alerts.json'));
    await start({ alertLimit: limit, alertWindowMs: 3_000 });
    await send('marker', [featureEvent('m-1', 'after-restart')]);
    await waitFor('the marker email', () => mails('after-restart').length === 1);
    await drained();
    expect(smtp.messages).toHaveLength(limit + 2);
  });
});
