import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test-support/wait.js';
import { composeConfig, telltaleServices } from './compose-file.js';
import { REPO } from './roles-process.js';

// A service that believes X-Forwarded-For with no proxy in front lets any client that reaches it
// pick its own address, and so step around the per-address sign-in and rate limits.
describe('docker-compose.yml: only services behind the load balancer trust X-Forwarded-For', () => {
  let scratch: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    scratch = await tempDir('compose-trust-proxy');
  });
  afterAll(() => scratch.remove());

  it('gives TELLTALE_TRUST_PROXY to the collectors nginx fronts, and not to the dashboards published directly', async () => {
    const config = await composeConfig(scratch.dir);
    const trusting = telltaleServices(config)
      .filter(([, service]) => service.environment?.TELLTALE_TRUST_PROXY !== undefined)
      .map(([name]) => name);
    expect(trusting.sort()).toEqual(['collector-1', 'collector-2']);
    for (const name of trusting) {
      // Reachable through the load balancer alone: no port of their own, and nginx proxies to them.
      expect(config.services[name]!.ports ?? [], name).toEqual([]);
      expect(Object.keys(config.services.lb!.depends_on ?? {}), name).toContain(name);
    }
    const nginx = await readFile(path.join(REPO, 'deploy/compose/nginx.conf'), 'utf8');
    // One hop trusted: nginx replaces the header with the address it saw, so a client cannot forge it.
    expect(nginx).toContain('proxy_set_header X-Forwarded-For $remote_addr;');

    const dashboards = config.services.dashboards!;
    expect(dashboards.ports?.length).toBeGreaterThan(0);
    expect(dashboards.environment?.TELLTALE_TRUST_PROXY).toBeUndefined();
  });
});
