import { afterEach, describe, expect, it } from 'vitest';
import { metricsOpenWithoutToken, startOpsListener, type OpsListener } from '../src/roles/ops.js';

const TOKEN = 'roles-ops-token-0123456789-abcdefghijklmn';
const REASONS = ['ClickHouse at http://127.0.0.1:1: connect ECONNREFUSED', 'consumer duckdb: backlog'];

describe('the ops listener of telltale dispatcher', () => {
  let ops: OpsListener | undefined;
  afterEach(async () => {
    await ops?.close();
    ops = undefined;
  });

  it('keeps /metrics closed without a token on a wildcard host (the container setting), open on loopback', () => {
    // The Dockerfile sets TELLTALE_OPS_HOST=0.0.0.0: every interface, so never open.
    expect(metricsOpenWithoutToken('0.0.0.0', undefined)).toBe(false);
    expect(metricsOpenWithoutToken('::', undefined)).toBe(false);
    expect(metricsOpenWithoutToken('10.0.0.5', undefined)).toBe(false);
    expect(metricsOpenWithoutToken('127.0.0.1', undefined)).toBe(true);
    expect(metricsOpenWithoutToken('::1', undefined)).toBe(true);
    expect(metricsOpenWithoutToken('127.0.0.1', TOKEN)).toBe(false);
  });

  it('tells an anonymous /readyz caller the status alone; the token shows the reasons and detail', async () => {
    ops = await startOpsListener({
      host: '127.0.0.1',
      port: 0,
      apiToken: TOKEN,
      notReady: () => REASONS,
      metrics: async () => 'telltale_x 1\n',
      detail: async () => ({ backlogBytes: { duckdb: 42 } }),
    });
    const anonymous = await fetch(`${ops.url}/readyz`);
    expect(anonymous.status).toBe(503);
    const text = await anonymous.text();
    expect(JSON.parse(text)).toEqual({ status: 'not ready', ready: false });
    expect(text).not.toMatch(/ECONNREFUSED|duckdb|backlog/);

    const wrong = await fetch(`${ops.url}/readyz`, { headers: { authorization: 'Bearer not-the-token' } });
    expect(await wrong.json()).toEqual({ status: 'not ready', ready: false });

    const trusted = await fetch(`${ops.url}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(trusted.status).toBe(503);
    expect(await trusted.json()).toEqual({
      status: 'not ready',
      ready: false,
      reasons: REASONS,
      backlogBytes: { duckdb: 42 },
    });
    expect((await fetch(`${ops.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${ops.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await metrics.text()).toBe('telltale_x 1\n');
  });

  it('on loopback without a token, /metrics and the /readyz reasons are open (a developer machine)', async () => {
    ops = await startOpsListener({
      host: '127.0.0.1',
      port: 0,
      apiToken: undefined,
      notReady: () => [],
      metrics: async () => 'telltale_x 1\n',
      detail: async () => ({ backlogBytes: { duckdb: 0 } }),
    });
    expect(await (await fetch(`${ops.url}/readyz`)).json()).toEqual({
      status: 'ready',
      ready: true,
      backlogBytes: { duckdb: 0 },
    });
    expect((await fetch(`${ops.url}/metrics`)).status).toBe(200);
  });
});
