import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../../test-support/wait.js';
import { runTelltale, startTelltaleProcess, type TelltaleProcess } from './roles-process.js';

const TOKEN = 'roles-admin-token-0123456789-abcdefghijkl';
const INGEST_KEY = 'tt_live_roles_split_ingest_0001';
const auth = { authorization: `Bearer ${TOKEN}` };

/** One batch of `events` feature events from session `session`, each id unique across the test. */
const batch = (session: string, n: number, events: number) =>
  JSON.stringify({
    v: 1,
    batchId: `${session}-b${n}`,
    sentAt: Date.now(),
    release: '1.0.0',
    environment: 'test',
    session,
    events: Array.from({ length: events }, (_, i) => ({
      id: `${session}-${n}-${i}`,
      ts: Date.now(),
      kind: 'feature',
      name: `feature-${i % 3}`,
    })),
  });

async function sendBatches(collector: string, from: number, count: number): Promise<number> {
  let events = 0;
  for (let n = from; n < from + count; n++) {
    const response = await fetch(`${collector}/v1/batch?key=${INGEST_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: batch(`s-${n % 7}`, n, 5),
    });
    expect(response.status).toBe(202);
    events += 5;
  }
  return events;
}

describe('telltale collector, dispatcher and dashboards as separate processes of one data dir', () => {
  const running: TelltaleProcess[] = [];
  let data: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill()));
    await data?.remove();
  });

  it('ingest → spool → dispatcher → DuckDB → dashboards; SIGTERM exits 0 and a restart continues where it stopped', async () => {
    data = await tempDir('roles-split');
    const configFile = path.join(data.dir, 'telltale.config.json');
    await writeFile(
      configFile,
      JSON.stringify({ apps: [{ id: 'web', name: 'Web', ingestKeys: [INGEST_KEY], secretKeys: [] }] }),
    );
    const env = {
      TELLTALE_DATA_DIR: data.dir,
      TELLTALE_CONFIG: configFile,
      TELLTALE_API_TOKEN: TOKEN,
      TELLTALE_DISPATCH_THREADS: '1',
    };
    const start = async (command: string, extra: Record<string, string>) => {
      const p = await startTelltaleProcess([command], { ...env, ...extra });
      running.push(p);
      return p;
    };

    const collector = await start('collector', { TELLTALE_PORT: '0' });
    expect((await fetch(`${collector.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${collector.url}/readyz`)).json()).toEqual({ status: 'ready' });
    expect((await fetch(`${collector.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${collector.url}/metrics`, { headers: auth })).status).toBe(200);
    let sent = await sendBatches(collector.url, 0, 10);

    let dispatcher = await start('dispatcher', { TELLTALE_OPS_PORT: '0' });
    expect((await fetch(`${dispatcher.url}/healthz`)).status).toBe(200);
    const ready = await waitFor('the dispatcher to be ready', async () => {
      const answer = await fetch(`${dispatcher.url}/readyz`, { headers: auth });
      return answer.status === 200
        ? ((await answer.json()) as { backlogBytes: Record<string, number> })
        : undefined;
    });
    expect(Object.keys(ready.backlogBytes)).toEqual(
      expect.arrayContaining(['duckdb', 'alerts', 'duckdb.server']),
    );
    // Anonymous callers (any probe) get the status alone: no consumer names, no backlog.
    expect(await (await fetch(`${dispatcher.url}/readyz`)).json()).toEqual({ status: 'ready', ready: true });
    expect((await fetch(`${dispatcher.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${dispatcher.url}/metrics`, { headers: auth });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^telltale_process_cpu_seconds_total\{role="dispatcher"\} /m);
    expect(text).toMatch(/^telltale_dispatcher_consumer_lag_bytes\{[^}]*consumer="duckdb"/m);

    // The dashboards of the same data dir: DuckDB takes no reader beside its writer, and says so.
    const dashboards = await start('dashboards', { TELLTALE_PORT: '0' });
    expect((await fetch(`${dashboards.url}/healthz`)).status).toBe(200);
    const busyAnonymous = await fetch(`${dashboards.url}/readyz`);
    expect(busyAnonymous.status).toBe(503);
    expect(await busyAnonymous.json()).toEqual({ status: 'not ready', ready: false });
    const busy = await fetch(`${dashboards.url}/readyz`, { headers: auth });
    expect(busy.status).toBe(503);
    expect(JSON.stringify(await busy.json())).toContain('TELLTALE_STORE=clickhouse');
    const refused = await fetch(`${dashboards.url}/api/stats`, { headers: auth });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('TELLTALE_ERR_STORAGE');

    // SIGTERM mid-stream: the consumers finish and commit their step; the collector keeps spooling.
    sent += await sendBatches(collector.url, 10, 10);
    expect(await dispatcher.stop()).toBe(0);
    running.splice(running.indexOf(dispatcher), 1);
    sent += await sendBatches(collector.url, 20, 10);

    dispatcher = await start('dispatcher', { TELLTALE_OPS_PORT: '0' });
    await waitFor(
      'the restarted dispatcher to drain the spool',
      async () => {
        const answer = await fetch(`${dispatcher.url}/readyz`, { headers: auth });
        const body = (await answer.json()) as { backlogBytes: Record<string, number> };
        return answer.status === 200 && Object.values(body.backlogBytes).every((bytes) => bytes === 0);
      },
      60_000,
      200,
    );
    expect(await dispatcher.stop()).toBe(0);
    running.splice(running.indexOf(dispatcher), 1);

    // Every event once, visible through the dashboards process once no writer holds the file.
    expect((await fetch(`${dashboards.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${dashboards.url}/api/stats`)).status).toBe(401);
    const stats = (await (await fetch(`${dashboards.url}/api/stats`, { headers: auth })).json()) as {
      events: { feature: number };
    };
    expect(stats.events.feature).toBe(sent);
    const listed = (await (
      await fetch(`${dashboards.url}/api/events?limit=1000`, { headers: auth })
    ).json()) as {
      events: { id: string }[];
    };
    expect(new Set(listed.events.map((e) => e.id)).size).toBe(sent);
    expect((await fetch(`${dashboards.url}/metrics`)).status).toBe(401);
    expect(await (await fetch(`${dashboards.url}/metrics`, { headers: auth })).text()).toContain(
      'telltale_process_cpu_seconds_total{role="dashboards"}',
    );

    for (const p of [dashboards, collector]) expect(await p.stop()).toBe(0);
    running.length = 0;
  }, 240_000);

  it('a bad variable stops a role with exit 1 and a message naming the field, the value and the fix', async () => {
    data = await tempDir('roles-config');
    const base = { TELLTALE_DATA_DIR: data.dir };
    const ops = await runTelltale(['dispatcher'], { ...base, TELLTALE_OPS_PORT: 'ninety' });
    expect(ops.code).toBe(1);
    expect(ops.out).toContain('TELLTALE_OPS_PORT: "ninety" is not a port number (0-65535)');
    const store = await runTelltale(['dashboards'], { ...base, TELLTALE_STORE: 'mysql' });
    expect(store.code).toBe(1);
    expect(store.out).toContain('TELLTALE_STORE: "mysql" is not one of duckdb, clickhouse');
    const clickhouse = await runTelltale(['dashboards'], { ...base, TELLTALE_STORE: 'clickhouse' });
    expect(clickhouse.code).toBe(1);
    expect(clickhouse.out).toContain('TELLTALE_CLICKHOUSE_URL: is required when TELLTALE_STORE=clickhouse');
    const start = await runTelltale(['start'], {
      ...base,
      TELLTALE_PORT: '0',
      TELLTALE_STORE: 'clickhouse',
      TELLTALE_CLICKHOUSE_URL: 'http://127.0.0.1:8123',
    });
    expect(start.code).toBe(1);
    expect(start.out).toContain('TELLTALE_STORE: "clickhouse" needs the clickhouse sink in this process');
    const collector = await runTelltale(['collector'], { ...base, TELLTALE_PORT: '99999' });
    expect(collector.code).toBe(1);
    expect(collector.out).toContain('TELLTALE_PORT: "99999" is not a port number');
  }, 120_000);
});
