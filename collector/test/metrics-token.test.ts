import { afterEach, describe, expect, it } from 'vitest';
import { startCollectorServer, type RunningCollector } from '../src/index.js';
import { APPS, tempDir } from './helpers.js';

const TOKEN = 'collector-metrics-token-0123456789abcdef';

describe('standalone collector: /metrics needs TELLTALE_API_TOKEN', () => {
  let collector: RunningCollector | undefined;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  afterEach(async () => {
    await collector?.close();
    collector = undefined;
    await tmp.remove();
  });

  const start = async (env: NodeJS.ProcessEnv) => {
    tmp = await tempDir();
    collector = await startCollectorServer({
      port: 0,
      dataDir: tmp.dir,
      env: { TELLTALE_APPS: JSON.stringify(APPS), ...env },
    });
    return collector;
  };

  it('answers the bearer token, refuses anything else with 401, and leaves the probes open', async () => {
    const c = await start({ TELLTALE_API_TOKEN: TOKEN });
    const metrics = await fetch(`${c.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('telltale_');
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
    ];
    for (const headers of wrong) {
      const refused = await fetch(`${c.url}/metrics`, { headers });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        'TELLTALE_ERR_UNAUTHENTICATED',
      );
    }
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${c.url}/readyz`)).status).toBe(200);
  });

  it('without a token, /metrics refuses everyone and names TELLTALE_API_TOKEN', async () => {
    const c = await start({});
    const refused = await fetch(`${c.url}/metrics`, { headers: { authorization: 'Bearer anything-at-all' } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'TELLTALE_API_TOKEN',
    );
  });

  it('refuses to start with a malformed token, naming the setting', async () => {
    tmp = await tempDir();
    await expect(
      startCollectorServer({
        port: 0,
        dataDir: tmp.dir,
        env: { TELLTALE_APPS: JSON.stringify(APPS), TELLTALE_API_TOKEN: 'short' },
      }),
    ).rejects.toThrow(/TELLTALE_API_TOKEN: must be 32-128/);
  });
});
