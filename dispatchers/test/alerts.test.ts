import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openSpoolWriter, type SpoolPosition, type SpoolWriter } from '@telltale/spool';
import type { SpoolEnvelope } from '@telltale/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fingerprintError,
  resolveDispatcherConfig,
  startDispatchers,
  type Dispatchers,
  type DispatcherOptions,
} from '@telltale/dispatchers';
import { ERROR_STACK, envelope, errorEvent, featureEvent, payload, tempDir, waitFor } from './helpers.js';
import { holdPort } from '../../test-support/ports.js';
import { startSmtpServer } from '../../test-support/smtp.js';

const DASHBOARD = 'https://telltale.example.com';
const FINGERPRINT = fingerprintError({ type: 'TypeError', message: '', stack: ERROR_STACK });
// Same bug from another build: other line numbers, other content hash. Must not raise a second alert.
const SAME_BUG_OTHER_BUILD = ERROR_STACK.replace(
  /app\.3f9a2c1b\.js:(\d+)/g,
  (_m, line: string) => `app.77aa88bb.js:${Number(line) + 40}`,
);
const OTHER_BUG = ERROR_STACK.replace('renderCart', 'renderTotals');

describe('alerts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let writer: SpoolWriter;
  let dispatchers: Dispatchers | undefined;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    writer = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
  });

  afterEach(async () => {
    await dispatchers?.close();
    dispatchers = undefined;
    for (const stop of stops.splice(0)) await stop();
    await writer.close();
    duckdb.closeSync();
    await cleanup();
  });

  async function start(options: DispatcherOptions): Promise<Dispatchers> {
    await dispatchers?.close();
    const config = resolveDispatcherConfig(
      { dataDir: dir, dashboardUrl: DASHBOARD, pollMs: 50, ...options },
      {},
    );
    dispatchers = await startDispatchers(config, {
      duckdb,
      spoolDir: writer.dir,
      notify: (listener) => writer.onAppend(listener),
    });
    return dispatchers;
  }

  let last: SpoolPosition = { segment: 0, offset: 0 };
  async function append(env: SpoolEnvelope): Promise<void> {
    last = await writer.append(payload(env));
  }

  /** Both consumers have committed past the last appended record. */
  async function drained(d: Dispatchers): Promise<void> {
    const past = (p: SpoolPosition | undefined): boolean =>
      p !== undefined && (p.segment > last.segment || (p.segment === last.segment && p.offset > last.offset));
    await waitFor('both consumers past the last record', () =>
      d.stats().consumers.every((c) => past(c.position)),
    );
  }

  const firstBatch = envelope('b-1', [
    errorEvent('e-1'),
    errorEvent('e-2', { stack: SAME_BUG_OTHER_BUILD }),
    featureEvent('f-1', 'export-csv'),
    featureEvent('f-2', 'export-csv'),
    { kind: 'log', id: 'l-1', ts: 1_714_000_000_000, level: 'info', message: 'cart opened' },
    {
      kind: 'assert',
      id: 'a-1',
      ts: 1_714_000_000_000,
      name: 'cart-total-positive',
      soft: true,
      vars: { items: 3 },
    },
  ]);

  it('emails once per new error and first feature use, across duplicate uploads, replays and restarts', async () => {
    const smtp = await startSmtpServer();
    stops.push(smtp.close);
    const options = {
      smtpUrl: smtp.url,
      alertTo: 'founder@example.com',
      alertFrom: 'alerts@shop.example.com',
    };
    let d = await start(options);

    await append(firstBatch);
    await waitFor('three emails', () => smtp.messages.length >= 3);
    await append(firstBatch); // the SDK uploaded the same batch again
    await append(
      envelope('b-2', [
        errorEvent('e-3', { stack: SAME_BUG_OTHER_BUILD }),
        featureEvent('f-3', 'export-csv'),
      ]),
    );
    await drained(d);

    // Restart, and replay the whole spool through the alerter (as an operator would after an incident).
    await d.close();
    await rm(path.join(dir, 'checkpoints', 'alerts.json'));
    d = await start(options);
    await drained(d);
    // A genuinely new error after all that: its email is the only one that may follow.
    await append(envelope('b-3', [errorEvent('e-4', { stack: OTHER_BUG })]));
    await waitFor('the email of the new bug', () => smtp.messages.length >= 4);
    await drained(d);
    await waitFor('all sent', async () => (await d.listAlerts()).every((a) => a.status === 'sent'));

    // Since issue #6 a new failing assert (the soft one in the first batch) emails too.
    expect(smtp.messages).toHaveLength(4);
    expect(
      smtp.messages.every(
        (m) => m.to.length === 1 && m.to[0] === 'founder@example.com' && m.from === 'alerts@shop.example.com',
      ),
    ).toBe(true);
    const subjects = smtp.messages.map((m) => m.subject).sort();
    expect(subjects).toEqual(
      [
        "[Telltale] New error in shop: TypeError: Cannot read properties of undefined (reading 'items')",
        "[Telltale] New error in shop: TypeError: Cannot read properties of undefined (reading 'items')",
        '[Telltale] First use of feature "export-csv" in shop',
        '[Telltale] New soft failing assert in shop: cart-total-positive',
      ].sort(),
    );

    const firstError = smtp.messages.find((m) => m.text.includes(FINGERPRINT));
    expect(firstError?.text).toContain('renderCart (https://shop.example.com/assets/app.3f9a2c1b.js:3:15)');
    expect(firstError?.text).toContain(`${DASHBOARD}/errors/${FINGERPRINT}`);
    expect(firstError?.text).toContain('1.4.2');
    expect(firstError?.text).toContain('Chrome 124.0.0.0 on Windows 10');
    expect(smtp.messages.some((m) => m.text.includes('renderTotals'))).toBe(true);
    const feature = smtp.messages.find((m) => m.subject.includes('export-csv'));
    expect(feature?.text).toContain(`${DASHBOARD}/features`);

    const alerts = await d.listAlerts();
    expect(alerts.map((a) => [a.kind, a.status, a.transport]).sort()).toEqual([
      ['first-feature', 'sent', 'smtp'],
      ['new-assert', 'sent', 'smtp'],
      ['new-error', 'sent', 'smtp'],
      ['new-error', 'sent', 'smtp'],
    ]);
    expect(alerts.map((a) => a.key)).toContain(`new-error:shop:${FINGERPRINT}`);
  });

  it('keeps storing events while SMTP is down, and sends the pending alert once it is back', async () => {
    // SMTP down: the port is held by a listener that resets every connection, so no other test's
    // server can take it before ours comes up there.
    const held = await holdPort();
    const port = held.port;
    stops.push(held.release);
    const options = { smtpUrl: `smtp://127.0.0.1:${port}`, alertTo: 'founder@example.com' };
    let d = await start(options);

    await append(envelope('b-1', [errorEvent('e-1')]));
    const reader = await duckdb.connect();
    try {
      await waitFor(
        'the event stored despite SMTP being down',
        async () => (await reader.runAndReadAll('SELECT id FROM events')).getRows().length === 1,
      );
    } finally {
      reader.closeSync();
    }
    await waitFor('a failed send attempt', () => d.stats().alerts.failures >= 1);
    expect((await d.listAlerts()).map((a) => a.status)).toEqual(['pending']);

    await d.close();
    await held.release();
    const smtp = await startSmtpServer(port);
    stops.push(smtp.close);
    d = await start(options);
    await waitFor('the pending alert sent after restart', () => smtp.messages.length >= 1);
    await waitFor('marked sent', async () => (await d.listAlerts())[0]?.status === 'sent');
    await append(envelope('b-2', [errorEvent('e-2')]));
    await drained(d);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]?.subject).toContain('[Telltale] New error in shop: TypeError');
  });

  it('writes an .eml to the outbox when no SMTP server is configured', async () => {
    const d = await start({});
    await append(firstBatch);
    // New error, first use of the feature, new failing (soft) assert.
    await waitFor('three alerts sent', async () => {
      const alerts = await d.listAlerts();
      return alerts.length === 3 && alerts.every((a) => a.status === 'sent');
    });
    const files = (await readdir(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(3);

    const alerts = await d.listAlerts();
    const error = alerts.find((a) => a.kind === 'new-error');
    expect(error).toMatchObject({ transport: 'outbox', app: 'shop', key: `new-error:shop:${FINGERPRINT}` });
    expect(error?.file).toMatch(/^outbox\/.+\.eml$/);
    const eml = await d.readAlert(error?.key ?? '');
    expect(eml).toBe(await readFile(path.join(dir, error?.file ?? ''), 'utf8'));
    expect(eml).toContain('Subject: [Telltale] New error in shop: TypeError:');
    expect(eml).toContain('renderCart');
    expect(eml).toContain('To: telltale@localhost');
    expect(await d.readAlert('new-error:shop:does-not-exist')).toBeNull();

    // Restarted with the same data dir: no second file for the same alerts.
    await d.close();
    dispatchers = undefined;
    const again = await start({});
    await append(firstBatch);
    await drained(again);
    expect((await readdir(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.eml'))).toHaveLength(3);
  });
});
