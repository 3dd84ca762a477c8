import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveDispatcherConfig } from '../src/index.js';
import { openErrorIntelligence } from '../src/intelligence/index.js';
import { startKafkaAlerts, createMailer } from '../src/alerts/index.js';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import { startReceiver, verifySignature, type Receiver } from '../../test-support/webhook-receivers.js';
import { DASHBOARD, errorEvent, featureEvent } from './fixtures/kafka-alerts-harness.js';

const SECRET = 'whsec_0123456789abcdef0123';

/** The scaled-out variant: the partition owner sends the webhooks with the same sender and log as one process. */
describe('Kafka alerts: webhooks from the partition owner, once across a restart', () => {
  let mock: KafkaMockCluster;
  let hook: Receiver;
  let dataDir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    mock = await startKafkaMock();
    hook = await startReceiver();
    ({ dir: dataDir, remove } = await tempDir('kafka-webhooks'));
  });
  afterAll(async () => {
    await hook?.close();
    await mock?.stop();
    await remove?.();
  });

  /** One dispatcher process's Kafka alerts, configured as a deployed one: environment plus the apps file. */
  async function startOne() {
    const file = path.join(dataDir, 'telltale.config.json');
    await writeFile(
      file,
      JSON.stringify({
        apps: [
          {
            id: 'shop',
            name: 'Shop',
            ingestKeys: ['tt_live_0123456789abcdef'],
            webhooks: [{ type: 'json', url: hook.url, secret: SECRET }],
          },
        ],
      }),
    );
    const config = resolveDispatcherConfig(
      { dataDir, alertAppsFile: file },
      {
        TELLTALE_KAFKA_BROKERS: mock.bootstrap,
        TELLTALE_KAFKA_TOPIC_PREFIX: `w${process.pid}.`,
        TELLTALE_KAFKA_IDEMPOTENT: '0',
        TELLTALE_KAFKA_SESSION_TIMEOUT_MS: '6000',
        TELLTALE_DASHBOARD_URL: DASHBOARD,
        TELLTALE_DISPATCH_THREADS: '0',
      },
    );
    const intel = await openErrorIntelligence(config);
    const mailer = createMailer(config);
    const alerts = await startKafkaAlerts({ config, intel, mailer, timings: { inheritedPendingDelayMs: 0 } });
    return {
      alerts,
      async close() {
        await alerts.close();
        await mailer.close();
        await intel.close();
      },
    };
  }

  it('delivers each decided alert once, signed, and a restarted owner sends nothing again', async () => {
    let one = await startOne();
    const events = [errorEvent('renderCart'), featureEvent('export-csv')];
    expect((await one.alerts.candidates.export(events)).status).toBe('ok');
    await waitFor('two webhooks', () => hook.received.length === 2, 90_000, 100);
    const alerts = await waitFor(
      'both deliveries logged',
      async () => {
        const list = await one.alerts.listAlerts();
        const done = list.filter((a) => Object.values(a.deliveries ?? {}).some((d) => d.status === 'sent'));
        return done.length === 2 && list;
      },
      30_000,
    );
    for (const r of hook.received)
      expect(verifySignature(SECRET, r.headers['telltale-signature'] as string, r.body)).toBe(true);
    expect(hook.received.map((r) => (JSON.parse(r.body) as { id: string }).id).sort()).toEqual(
      alerts.map((a) => a.key).sort(),
    );
    await one.close();

    // A new owner reads the alert log back from the topic: the same events decide and send nothing.
    one = await startOne();
    expect((await one.alerts.candidates.export(events)).status).toBe('ok');
    await waitFor('the log read back', async () => (await one.alerts.listAlerts()).length === 2, 60_000);
    const after = await one.alerts.listAlerts();
    expect(after.every((a) => Object.values(a.deliveries ?? {}).every((d) => d.status === 'sent'))).toBe(
      true,
    );
    await one.close();
    expect(hook.received).toHaveLength(2);
  }, 240_000);
});
