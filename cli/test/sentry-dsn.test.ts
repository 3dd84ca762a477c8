import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { isIngestRequest } from '@telltale/dashboards';
import { main, startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir } from './helpers.js';

async function telltale(args: string[], env: NodeJS.ProcessEnv) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await main(args, { stdout, stderr, env });
  return { code, out, err };
}

const envelope = (eventId: string) =>
  `{"event_id":"${eventId}"}\n{"type":"event"}\n{"event_id":"${eventId}","exception":{"values":[{"type":"Error","value":"from a DSN"}]}}\n`;

describe('DSNs for Sentry SDKs', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningTelltale | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await data.remove();
  });

  it('telltale apps add gives each app a project id and a DSN that a running server accepts', async () => {
    data = await tempDir('sentry-dsn');
    const file = path.join(data.dir, 'telltale.config.json');
    const env = { TELLTALE_CONFIG: file };
    expect((await telltale(['apps', 'add', 'web'], env)).code).toBe(0);
    const added = await telltale(['apps', 'add', 'api'], env);
    expect(added.out).toMatch(
      /Sentry DSN \(for Sentry SDKs\):\s+http:\/\/tt_live_[0-9a-f]{32}@127\.0\.0\.1:8080\/3/,
    );

    const dsn = await telltale(['apps', 'dsn', 'web', '--url', 'https://telltale.example.com'], env);
    expect(dsn.code).toBe(0);
    expect(dsn.out).toMatch(/^https:\/\/tt_live_[0-9a-f]{32}@telltale\.example\.com\/2\n$/);
    expect((await telltale(['apps', 'dsn', 'nope'], env)).code).toBe(2);

    const token = 'sentry-dsn-admin-token-0123456789abcdefgh';
    server = await startTelltale({
      port: 0,
      dataDir: path.join(data.dir, 'data'),
      logger: false,
      env: { ...env, TELLTALE_API_TOKEN: token },
    });
    // The dashboard's Apps page shows each app's DSN, with this server's address; not without sign-in.
    const page = await fetch(`${server.url}/apps`, { headers: { authorization: `Bearer ${token}` } });
    expect(page.status).toBe(200);
    const listed = await page.text();
    const webKey = /\/\/(\w+)@/.exec(dsn.out)![1]!;
    expect(listed).toContain(`<code>${server.url.replace('//', `//${webKey}@`)}/2</code>`);
    expect(listed).toMatch(/demo<\/span><\/td>\s*<td>1<\/td>/);
    expect((await fetch(`${server.url}/apps`, { redirect: 'manual' })).status).not.toBe(200);
    const key = /\/\/(\w+)@/.exec(dsn.out)![1]!;
    const sent = await fetch(`${server.url}/api/2/envelope/?sentry_key=${key}&sentry_version=7`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: envelope('a'.repeat(32)),
    });
    expect(sent.status).toBe(200);
    expect(await sent.json()).toEqual({ id: 'a'.repeat(32) });
    // The same key with another app's project id is refused: a DSN names one app.
    const crossed = await fetch(`${server.url}/api/3/envelope/?sentry_key=${key}`, {
      method: 'POST',
      body: envelope('b'.repeat(32)),
    });
    expect(crossed.status).toBe(401);
  });

  it('says so when an app has no key a DSN can carry', async () => {
    data = await tempDir('sentry-dsn-dash');
    const file = path.join(data.dir, 'telltale.config.json');
    const apps = [{ id: 'old', name: 'Old app', ingestKeys: ['tt_live_abc-def-0123456789'] }];
    await writeFile(file, JSON.stringify({ apps }));
    const dsn = await telltale(['apps', 'dsn', 'old'], { TELLTALE_CONFIG: file });
    expect(dsn.code).toBe(1);
    expect(dsn.err).toContain('telltale apps rotate-key old');
    expect((await telltale(['apps', 'list'], { TELLTALE_CONFIG: file })).out).toContain('Sentry DSN    none');
  });

  it('keeps /api private except the digits-only envelope and store routes', () => {
    expect(isIngestRequest(undefined, '/api/42/envelope/')).toBe(true);
    expect(isIngestRequest(undefined, '/api/42/store/')).toBe(true);
    for (const path of [
      '/api/errors',
      '/api/errors/envelope/',
      '/api/4x/envelope/',
      '/api/42/envelope/x',
      '/api/42/other/',
    ])
      expect(isIngestRequest(undefined, path), path).toBe(false);
  });
});
