import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAppsFile } from '@telltale/collector';
import { enrichEnvelope, resolveDispatcherConfig, type EnrichedEvent } from '@telltale/dispatchers';
import {
  alertLogFile,
  openAlertLog,
  type AlertLog,
  type AlertSummary,
  createAlerter,
  type Alerter,
  type AlerterOptions,
  createMailer,
  type Mailer,
} from '../src/alerts/index.js';
import { openMuteRules } from '../src/intelligence/index.js';
import { startReceiver, verifySignature, type Receiver } from '../../test-support/webhook-receivers.js';
import { envelope, errorEvent, featureEvent, tempDir, waitFor } from './helpers.js';

const DASHBOARD = 'https://telltale.example.com';
const SECRET = 'whsec_0123456789abcdef0123';
/** Fast retries: what is under test is which attempts happen, not how long the default waits. */
const FAST = { backoff: { baseMs: 20, multiplier: 2, capMs: 5_000, jitter: 0 }, maxAttempts: 5 };

function errors(batch: string, ...messages: string[]): EnrichedEvent[] {
  return enrichEnvelope(
    envelope(
      batch,
      messages.map((message, i) => errorEvent(`${batch}-${i}`, { type: 'Error', message, stack: undefined })),
    ),
  );
}

describe('alert webhooks: signed JSON, Slack, Teams, fed by the alert log', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let log: AlertLog | undefined;
  let alerter: Alerter | undefined;
  let mailer: Mailer | undefined;
  const receivers: Receiver[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await stop();
    for (const r of receivers.splice(0)) await r.close();
    await cleanup();
  });

  async function receiver(answer?: Receiver['answer'], route?: string): Promise<Receiver> {
    const r = await startReceiver(answer, route);
    receivers.push(r);
    return r;
  }

  async function stop(): Promise<void> {
    await alerter?.close();
    await mailer?.close();
    await log?.close();
    alerter = mailer = log = undefined;
  }

  /** The webhooks as an operator writes them in telltale.config.json, read the way a dispatcher starts. */
  async function start(
    webhooks: unknown[],
    options: Partial<AlerterOptions> = {},
    holdEmail?: () => Promise<unknown>,
  ): Promise<Alerter> {
    await stop();
    const file = path.join(dir, 'telltale.config.json');
    const apps = { apps: [{ id: 'shop', name: 'Shop', ingestKeys: ['tt_live_0123456789abcdef'], webhooks }] };
    const text = JSON.stringify(apps);
    await writeFile(file, text);
    // The collector reads the same file: it must accept the webhooks too.
    expect(parseAppsFile(text, file).apps).toHaveLength(1);
    const config = resolveDispatcherConfig(
      { dataDir: dir, dashboardUrl: DASHBOARD, alertAppsFile: file },
      {},
    );
    log = await openAlertLog(dir);
    mailer = createMailer(config);
    const outbox = mailer;
    alerter = createAlerter({
      dataDir: dir,
      dashboardUrl: DASHBOARD,
      log,
      // The real outbox mailer, its send held back when a test needs the email logged last.
      mailer:
        holdEmail === undefined
          ? outbox
          : { ...outbox, send: async (message) => (await holdEmail(), outbox.send(message)) },
      webhooks: config.alertWebhooks,
      webhookPolicy: FAST,
      ...options,
    });
    return alerter;
  }

  const deliveriesOf = async (a: Alerter, key: string): Promise<AlertSummary['deliveries']> =>
    (await a.listAlerts()).find((x) => x.key === key)?.deliveries;

  it('signs the JSON payload as documented and delivers each alert exactly once across a restart', async () => {
    const hook = await receiver();
    let a = await start([{ type: 'json', url: hook.url, secret: SECRET }]);
    await a.process(errors('b1', 'checkout failed'));
    await a.settled();
    await waitFor('one delivery', () => hook.received.length === 1);

    const [first] = hook.received;
    expect(verifySignature(SECRET, first?.headers['telltale-signature'] as string, first?.body ?? '')).toBe(
      true,
    );
    // A body changed in transit, or another secret, fails the same check.
    expect(verifySignature(SECRET, first?.headers['telltale-signature'] as string, `${first?.body} `)).toBe(
      false,
    );
    expect(
      verifySignature(`${SECRET}x`, first?.headers['telltale-signature'] as string, first?.body ?? ''),
    ).toBe(false);
    const body = JSON.parse(first?.body ?? '{}') as Record<string, unknown>;
    const [alert] = (await a.listAlerts()).filter((x) => x.kind === 'new-error');
    expect(body).toMatchObject({ id: alert?.key, kind: 'new-error', app: 'shop', subject: alert?.subject });
    expect(body.link).toBe(alert?.link);
    expect(alert?.key).toBe(`new-error:shop:${String(body.fingerprint)}`);
    expect(body.createdAt).toBe(alert?.createdAt);
    expect(first?.headers['idempotency-key']).toBe(alert?.key);
    expect(Object.values((await deliveriesOf(a, alert?.key ?? '')) ?? {})).toMatchObject([
      { type: 'json', host: new URL(hook.url).host, status: 'sent', attempts: 1 },
    ]);

    // Restart: the same events again (a replay), and the log read back from disk.
    a = await start([{ type: 'json', url: hook.url, secret: SECRET }]);
    await a.process(errors('b1', 'checkout failed'));
    await a.settled();
    expect(hook.received).toHaveLength(1);
    expect(JSON.stringify(await a.listAlerts())).not.toContain(SECRET);
  });

  it('sends at the next start what a stopped dispatcher had not delivered, once', async () => {
    let up = false;
    const hook = await receiver(() => ({ status: up ? 200 : 503 }));
    // The retry would come long after the stop: only the restart can deliver it.
    let a = await start([{ type: 'json', url: hook.url, secret: SECRET }], {
      webhookPolicy: { ...FAST, backoff: { ...FAST.backoff, baseMs: 600_000, capMs: 600_000 } },
    });
    await a.process(errors('b1', 'payment declined'));
    await a.settled();
    const [alert] = await a.listAlerts();
    expect(Object.values((await deliveriesOf(a, alert?.key ?? '')) ?? {})).toMatchObject([
      { status: 'failing', lastError: 'HTTP 503', attempts: 1 },
    ]);

    up = true;
    a = await start([{ type: 'json', url: hook.url, secret: SECRET }]);
    await waitFor('delivered after the restart', () => hook.received.length === 2);
    await waitFor(
      'logged sent',
      async () =>
        (await deliveriesOf(a, alert?.key ?? ''))?.[
          Object.keys((await deliveriesOf(a, alert?.key ?? '')) ?? {})[0] ?? ''
        ]?.status === 'sent',
    );
    a = await start([{ type: 'json', url: hook.url, secret: SECRET }]);
    await a.settled();
    expect(hook.received).toHaveLength(2);
    expect(new Set(hook.received.map((r) => r.headers['idempotency-key']))).toEqual(new Set([alert?.key]));
  });

  it("posts Slack's and Teams' documented incoming-webhook payloads", async () => {
    const slack = await receiver(undefined, '/services/T000/B000/XXXX');
    const teams = await receiver(undefined, '/workflows/abc/triggers/manual/paths/invoke');
    const a = await start([
      { type: 'slack', url: slack.url },
      { type: 'teams', url: teams.url },
    ]);
    await a.process(enrichEnvelope(envelope('f1', [featureEvent('f1-0', 'export-csv')])));
    await a.settled();
    await waitFor('both delivered', () => slack.received.length === 1 && teams.received.length === 1);
    const [alert] = await a.listAlerts();
    const subject = (alert?.subject ?? '').replace('[Telltale] ', '');

    const s = JSON.parse(slack.received[0]?.body ?? '{}') as {
      text: string;
      blocks: Array<{ type: string; text?: { type: string; text: string }; elements?: unknown[] }>;
    };
    expect(s.text).toBe(subject);
    expect(s.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(s.blocks[0]?.text?.text).toContain(`<${alert?.link ?? ''}|`);
    expect(s.blocks.map((b) => b.type)).toContain('context');
    expect(slack.received[0]?.headers['telltale-signature']).toBeUndefined();

    const t = JSON.parse(teams.received[0]?.body ?? '{}') as {
      type: string;
      attachments: Array<{ contentType: string; content: Record<string, unknown> }>;
    };
    expect(t.type).toBe('message');
    expect(t.attachments).toHaveLength(1);
    expect(t.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = t.attachments[0]?.content as {
      type: string;
      version: string;
      body: Array<{ type: string; text?: string }>;
      actions: Array<{ type: string; url: string }>;
    };
    expect(card.type).toBe('AdaptiveCard');
    expect(card.version).toMatch(/^1\.\d$/);
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', text: subject });
    expect(card.actions[0]).toMatchObject({ type: 'Action.OpenUrl', url: alert?.link });
  });

  it('delivers the alert of a feature named with a lone surrogate instead of leaving it pending', async () => {
    const hook = await receiver();
    const a = await start([{ type: 'json', url: hook.url }]);
    await a.process(enrichEnvelope(envelope('f9', [featureEvent('f9-0', 'bad\ud800name')])));
    await a.settled();
    await waitFor('one delivery', () => hook.received.length === 1);
    expect(hook.received[0]?.headers['idempotency-key']).toContain('bad%EF%BF%BDname');
    const [alert] = (await a.listAlerts()).filter((x) => x.kind === 'first-feature');
    await waitFor('delivery logged as sent', async () =>
      Object.values((await deliveriesOf(a, alert?.key ?? '')) ?? {}).every((d) => d.status === 'sent'),
    );
  });

  it('retries 500s with backoff and delivers once; waits out a 429 for its Retry-After', async () => {
    const flaky = await receiver((n) => ({ status: n <= 2 ? 500 : 200 }));
    const busy = await receiver((n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const a = await start([
      { type: 'json', url: flaky.url, id: 'flaky' },
      { type: 'json', url: busy.url, id: 'busy' },
    ]);
    await a.process(errors('b1', 'inventory sync failed'));
    const [alert] = await a.listAlerts();
    await waitFor('both sent', async () => {
      const d = await deliveriesOf(a, alert?.key ?? '');
      return d?.flaky?.status === 'sent' && d.busy?.status === 'sent';
    });
    expect(flaky.received).toHaveLength(3);
    expect(new Set(flaky.received.map((r) => r.body)).size).toBe(1);
    expect((await deliveriesOf(a, alert?.key ?? ''))?.flaky).toMatchObject({
      attempts: 3,
      lastError: 'HTTP 500',
    });
    expect(busy.received).toHaveLength(2);
    // Retry-After: 1 (s) beats the 20 ms backoff.
    expect((busy.received[1]?.at ?? 0) - (busy.received[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('gives up waiting on a receiver that does not answer in time, and retries', async () => {
    const stuck = await receiver((n) => ({ status: 200, delayMs: n === 1 ? 3_000 : 0 }));
    const a = await start([{ type: 'json', url: stuck.url, id: 'stuck' }], {
      webhookPolicy: { ...FAST, timeoutMs: 300 },
    });
    await a.process(errors('b1', 'report export hung'));
    const [alert] = await a.listAlerts();
    await waitFor(
      'sent on the retry',
      async () => (await deliveriesOf(a, alert?.key ?? ''))?.stuck?.status === 'sent',
    );
    expect((await deliveriesOf(a, alert?.key ?? ''))?.stuck).toMatchObject({
      attempts: 2,
      lastError: 'timeout',
    });
  });

  it('gives up on a 404 after one attempt and never follows a redirect', async () => {
    const gone = await receiver(() => ({ status: 404 }));
    const target = await receiver();
    const moved = await receiver(() => ({ status: 302, headers: { location: target.url } }));
    const a = await start([
      { type: 'slack', url: gone.url, id: 'gone' },
      { type: 'json', url: moved.url, id: 'moved' },
    ]);
    await a.process(errors('b1', 'search timed out'));
    await a.settled();
    const [alert] = await a.listAlerts();
    const d = await deliveriesOf(a, alert?.key ?? '');
    expect(d?.gone).toMatchObject({ status: 'failed', attempts: 1, lastError: 'HTTP 404' });
    expect(d?.moved).toMatchObject({ status: 'failed', lastError: 'HTTP 302 (redirects are not followed)' });
    expect(gone.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
    expect(a.stats().webhooks).toMatchObject({ sent: 0, failed: 2 });
  });

  it('sends no muted alert, and one digest message for the alerts held back', async () => {
    const hook = await receiver();
    const rules = await openMuteRules(dir);
    await rules.add({ message: '*ResizeObserver*' });
    const a = await start([{ type: 'json', url: hook.url, secret: SECRET }], {
      rules,
      maxPerWindow: 1,
      windowMs: 1_000,
    });
    await a.process(
      errors('b1', 'ResizeObserver loop limit exceeded', 'first real failure', 'second real failure'),
    );
    await waitFor('the alert and the digest', () => hook.received.length === 2, 10_000);
    const bodies = hook.received.map(
      (r) => JSON.parse(r.body) as { kind: string; count?: number; subject: string },
    );
    expect(bodies.map((b) => b.kind).sort()).toEqual(['digest', 'new-error']);
    expect(bodies.find((b) => b.kind === 'digest')?.count).toBe(1);
    expect(bodies.some((b) => b.subject.includes('ResizeObserver'))).toBe(false);
    const muted = (await a.listAlerts()).find((x) => x.status === 'muted');
    expect(muted?.deliveries).toBeUndefined();
    await a.settled();
    expect(hook.received).toHaveLength(2);
  });

  it('writes whole lines: the last line of each key alone (a compacted topic) holds every delivery and the email', async () => {
    // The first email is logged after its webhooks, the second between them: lines interleave.
    const slow = await receiver(() => ({ status: 200, delayMs: 300 }));
    const quick = await receiver();
    let emails = 0;
    const holdFirstEmail = async (): Promise<unknown> =>
      (emails += 1) === 1 &&
      waitFor('the first alert delivered to both webhooks', () => {
        const first = log?.pending()[0];
        return first?.deliveries?.slow?.status === 'sent' && first.deliveries.quick?.status === 'sent';
      });
    const a = await start(
      [
        { type: 'json', url: slow.url, id: 'slow' },
        { type: 'teams', url: quick.url, id: 'quick' },
      ],
      {},
      holdFirstEmail,
    );
    await a.process(errors('b1', 'first failure', 'second failure'));
    await a.settled();
    await waitFor('all delivered', async () =>
      (await a.listAlerts()).every(
        (x) => x.deliveries?.slow?.status === 'sent' && x.deliveries.quick?.status === 'sent',
      ),
    );
    const lines = (await readFile(alertLogFile(dir), 'utf8')).trim().split('\n');
    const last = new Map<string, AlertSummary>();
    for (const line of lines) {
      const record = JSON.parse(line) as AlertSummary;
      last.set(record.key, record);
    }
    const alerts = await a.listAlerts();
    expect(alerts).toHaveLength(2);
    for (const alert of alerts) {
      expect(last.get(alert.key)?.status).toBe('sent');
      expect(last.get(alert.key)?.deliveries).toEqual(alert.deliveries);
    }
    expect(slow.received).toHaveLength(2);
    expect(quick.received).toHaveLength(2);
  });

  it('refuses a bad webhook at start, naming the field and never echoing the secret', async () => {
    const file = path.join(dir, 'telltale.config.json');
    const write = (webhooks: unknown[]) =>
      writeFile(
        file,
        JSON.stringify({
          apps: [{ id: 'shop', name: 'Shop', ingestKeys: ['tt_live_0123456789abcdef'], webhooks }],
        }),
      );
    const resolve = () => resolveDispatcherConfig({ dataDir: dir, alertAppsFile: file }, {});
    await write([{ type: 'discord', url: 'https://example.com/x' }]);
    expect(resolve).toThrow(
      /telltale\.config\.json apps\[0\]\.webhooks\[0\]\.type: must be "json", "slack" or "teams"/,
    );
    await write([{ type: 'json', url: 'ftp://example.com/x', secret: 'short-but-secret' }]);
    expect(resolve).toThrow(/apps\[0\]\.webhooks\[0\]\.url/);
    await write([
      { type: 'slack', url: 'https://hooks.slack.com/services/T/B/X', secret: 'a-secret-of-twenty-chars' },
    ]);
    expect(resolve).toThrow(/apps\[0\]\.webhooks\[0\]\.secret/);
    try {
      resolve();
    } catch (error) {
      expect(String(error)).not.toContain('a-secret-of-twenty-chars');
      expect(String(error)).not.toContain('/services/T/B/X');
    }
    const text = JSON.stringify({
      apps: [
        { id: 'shop', name: 'Shop', ingestKeys: ['tt_live_0123456789abcdef'], webhooks: [{ type: 'json' }] },
      ],
    });
    expect(() => parseAppsFile(text, file)).toThrow(/apps\[0\]\.webhooks\[0\]\.url/);
  });
});
