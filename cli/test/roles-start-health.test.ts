import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir, waitFor } from './helpers.js';

const TOKEN = 'start-health-token-0123456789-abcdefghijk';
const auth = { authorization: `Bearer ${TOKEN}` };

/** `telltale start` runs the collector and the dispatchers in one process: its /health and /metrics show both. */
describe('telltale start: the /health page and /metrics of the one process', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let telltale: RunningTelltale;

  beforeAll(async () => {
    data = await tempDir('start-health');
    telltale = await startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: TOKEN, TELLTALE_DISPATCH_THREADS: '1' },
    });
  });

  afterAll(async () => {
    await telltale?.close();
    await data?.remove();
  });

  it('shows the duckdb sink, the consumers and the spools; /metrics has the dispatcher consumer figures', async () => {
    const sent = await fetch(`${telltale.url}/v1/batch?key=${telltale.demoKey}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({
        v: 1,
        batchId: 'health-b1',
        sentAt: Date.now(),
        release: '1.0.0',
        environment: 'test',
        session: 'health-s1',
        events: [{ id: 'health-e1', ts: Date.now(), kind: 'feature', name: 'checkout' }],
      }),
    });
    expect(sent.status).toBe(202);

    expect((await fetch(`${telltale.url}/api/health`)).status).toBe(401);
    const health = await waitFor('the duckdb consumer to take the event', async () => {
      const answer = await fetch(`${telltale.url}/api/health`, { headers: auth });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as {
        consumers: { name: string; records: number }[];
        sinks: { name: string }[];
        spools: Record<string, unknown>;
      };
      return body.consumers.find((c) => c.name === 'duckdb' && c.records >= 1) ? body : undefined;
    });
    expect(health.sinks.map((s) => s.name)).toContain('duckdb');
    expect(health.consumers.map((c) => c.name)).toEqual(expect.arrayContaining(['duckdb', 'alerts']));
    expect(Object.keys(health.spools)).toEqual(expect.arrayContaining(['client', 'server']));

    const page = await fetch(`${telltale.url}/health`, { headers: auth });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain('without the dispatchers');
    expect(html).toContain('duckdb');

    expect((await fetch(`${telltale.url}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${telltale.url}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(
      /^telltale_dispatcher_consumer_records_total\{[^}]*consumer="duckdb"[^}]*\} [1-9]/m,
    );
    expect(metrics).toMatch(/^telltale_collector_events_stored_total(\{[^}]*\})? 1$/m);
    expect(metrics).toMatch(/^telltale_dispatcher_breaker_state\{[^}]*sink="duckdb"/m);
  });
});
