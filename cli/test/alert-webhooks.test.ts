import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { startReceiver, verifySignature, type Receiver } from '../../test-support/webhook-receivers.js';
import { tempDir, waitFor } from './helpers.js';

const API_TOKEN = 'alert-webhooks-admin-token-0123456789';
const INGEST = 'tt_live_webhooks_0123456789';
const SECRET = 'whsec_0123456789abcdef0123';
const SLACK_PATH = '/services/T000/B000/secret-part';

/** `telltale start` as deployed: the webhooks live in the apps file, beside the app's keys. */
describe('telltale start: alert webhooks from the apps file', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningTelltale;
  let json: Receiver;
  let slack: Receiver;

  beforeAll(async () => {
    json = await startReceiver();
    slack = await startReceiver(() => ({ status: 404 }), SLACK_PATH);
    data = await tempDir('alert-webhooks');
    const file = path.join(data.dir, 'telltale.config.json');
    await writeFile(
      file,
      JSON.stringify({
        apps: [
          {
            id: 'shop',
            name: 'Shop',
            ingestKeys: [INGEST],
            webhooks: [
              { type: 'json', url: json.url, secret: SECRET },
              { type: 'slack', url: slack.url },
            ],
          },
        ],
      }),
    );
    server = await startTelltale({
      port: 0,
      dataDir: path.join(data.dir, 'data'),
      logger: false,
      env: { TELLTALE_CONFIG: file, TELLTALE_API_TOKEN: API_TOKEN },
    });
  });
  afterAll(async () => {
    await server?.close();
    await json?.close();
    await slack?.close();
    await data?.remove();
  });

  it('a new error posted to the collector reaches the JSON webhook once, signed; the 404 shows as given up', async () => {
    const batch = (n: number) =>
      fetch(`${server.url}/v1/batch?key=${INGEST}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({
          v: 1,
          batchId: `b-${n}`,
          sentAt: Date.now(),
          release: '1.0.0',
          environment: 'test',
          session: `s-${n}`,
          events: [
            { id: `e-${n}`, ts: Date.now(), kind: 'error', type: 'TypeError', message: 'cart is undefined' },
          ],
        }),
      });
    expect((await batch(1)).status).toBe(202);
    expect((await batch(2)).status).toBe(202); // the same error again (replays: dispatchers/test/webhooks)
    await waitFor('the JSON webhook', () => json.received.length === 1, 60_000);
    await waitFor('the Slack attempt', () => slack.received.length === 1, 60_000);
    const [request] = json.received;
    expect(
      verifySignature(SECRET, request?.headers['telltale-signature'] as string, request?.body ?? ''),
    ).toBe(true);
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({ kind: 'new-error', app: 'shop' });

    const page = await waitFor('the Alerts page showing both deliveries', async () => {
      const res = await fetch(`${server.url}/alerts`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
      const html = await res.text();
      return res.status === 200 && html.includes('given up') && html.includes('badge-ok') && html;
    });
    expect(page).toContain(new URL(slack.url).host);
    expect(page).not.toContain(SLACK_PATH);
    expect(page).not.toContain(SECRET);
    expect(json.received).toHaveLength(1);
  });
});
