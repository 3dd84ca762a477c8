import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichEnvelope, resolveDispatcherConfig, type AlertSummary } from '@telltale/dispatchers';
// The alerter itself, as the dispatchers build it (not part of their public entry).
import { openAlertLog, createAlerter, createMailer } from '../../dispatchers/src/alerts/index.js';
import { startReceiver, type Receiver } from '../../test-support/webhook-receivers.js';
import { tempDir } from '../../test-support/wait.js';
import { envelope, errorEvent } from '../../dispatchers/test/helpers.js';
import { alertsPage } from '../src/views/alerts.js';
import { createHarness, SAMPLE_ALERTS, type Harness } from './fixtures.js';

const SECRET = 'whsec_0123456789abcdef0123';
const SLACK_PATH = '/services/T000/B000/secret-part-of-the-url';

/**
 * A real alerter delivers to a Slack receiver that answers 404 and a JSON one that answers 200; the
 * Alerts page and /api/alerts show each delivery's state, with the receiver's host and never its URL.
 */
describe('Alerts page: webhook deliveries', () => {
  let h: Harness;
  let gone: Receiver;
  let ok: Receiver;
  let cleanup: () => Promise<void>;
  let alerts: AlertSummary[];

  beforeAll(async () => {
    gone = await startReceiver(() => ({ status: 404 }), SLACK_PATH);
    ok = await startReceiver();
    const tmp = await tempDir('telltale-alert-webhooks-');
    cleanup = tmp.remove;
    const file = path.join(tmp.dir, 'telltale.config.json');
    await writeFile(
      file,
      JSON.stringify({
        apps: [
          {
            id: 'shop',
            name: 'Shop',
            ingestKeys: ['tt_live_0123456789abcdef'],
            webhooks: [
              { type: 'slack', url: gone.url },
              { type: 'json', url: ok.url, secret: SECRET },
            ],
          },
        ],
      }),
    );
    const config = resolveDispatcherConfig(
      { dataDir: tmp.dir, dashboardUrl: 'https://telltale.example.com', alertAppsFile: file },
      {},
    );
    const log = await openAlertLog(tmp.dir);
    const mailer = createMailer(config);
    const alerter = createAlerter({
      dataDir: tmp.dir,
      dashboardUrl: config.dashboardUrl,
      log,
      mailer,
      webhooks: config.alertWebhooks,
    });
    await alerter.process(
      enrichEnvelope(
        envelope('b1', [errorEvent('e1', { message: 'cart total mismatch', stack: undefined })]),
      ),
    );
    await alerter.settled();
    alerts = await alerter.listAlerts();
    await alerter.close();
    await mailer.close();
    await log.close();
    h = await createHarness(undefined, { alerts });
  });
  afterAll(async () => {
    await h?.close();
    await gone?.close();
    await ok?.close();
    await cleanup?.();
  });

  it('shows the 404 as given up and the other as sent, by host only', async () => {
    expect(gone.received).toHaveLength(1);
    expect(ok.received).toHaveLength(1);
    const res = await h.app.inject({ method: 'GET', url: '/alerts' });
    expect(res.statusCode).toBe(200);
    const row = /<div data-delivery="slack-[^"]+">[^]*?<\/div>/.exec(res.body)?.[0] ?? '';
    expect(row).toContain(new URL(gone.url).host);
    expect(row).toContain('given up');
    expect(row).toContain('HTTP 404');
    const sent = /<div data-delivery="json-[^"]+">[^]*?<\/div>/.exec(res.body)?.[0] ?? '';
    expect(sent).toContain('badge-ok');
    expect(sent).toContain('<time');
    expect(res.body).not.toContain(SLACK_PATH);
    expect(res.body).not.toContain(SECRET);
  });

  it('has no Webhooks column where no alert went to one (email only)', () => {
    const emailOnly = String(alertsPage('Telltale', SAMPLE_ALERTS, true, Date.now()));
    expect(emailOnly).not.toContain('<th>Webhooks</th>');
    expect(String(alertsPage('Telltale', alerts, true, Date.now()))).toContain('<th>Webhooks</th>');
  });

  it('/api/alerts carries the deliveries, without URLs or secrets', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/alerts' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ alerts: AlertSummary[] }>();
    const deliveries = Object.values(body.alerts[0]?.deliveries ?? {});
    expect(deliveries.map((d) => [d.type, d.status]).sort()).toEqual([
      ['json', 'sent'],
      ['slack', 'failed'],
    ]);
    expect(res.body).not.toContain(SLACK_PATH);
    expect(res.body).not.toContain(SECRET);
  });
});
