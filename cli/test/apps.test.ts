import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main, startTelltale, type RunningTelltale } from '../src/index.js';
import { readSpool, tempDir, waitFor } from './helpers.js';

interface AppView {
  id: string;
  name: string;
  ingestKeys: string[];
  secretKeys: string[];
  allowedOrigins: string[];
  revokedKeys: number;
}

/**
 * What the server writes to its error log until `stop()`. With `logger: false` fastify logs to a no-op
 * logger; its `error` is swapped for a recorder to hear the apps watcher's report.
 */
function listenToErrorLog(server: RunningTelltale): { reports: string[]; stop(): void } {
  const reports: string[] = [];
  const log = server.app.log as unknown as { error: (...args: unknown[]) => void };
  const original = log.error;
  log.error = (...args: unknown[]) => {
    reports.push(
      args.map((a) => (typeof a === 'string' ? a : String((a as { err?: unknown })?.err ?? a))).join(' '),
    );
  };
  return { reports, stop: () => void (log.error = original) };
}

/** Runs `telltale …` in-process and returns its exit code and output. */
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

describe('telltale apps add | list | rotate-key, and a running server that follows the apps file', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningTelltale | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await data.remove();
  });

  it('adds an app with keys and origins, serves it, and rotates and revokes keys without a restart', async () => {
    data = await tempDir('apps');
    const file = path.join(data.dir, 'telltale.config.json');
    const env = { TELLTALE_CONFIG: file };

    const added = await telltale(
      ['apps', 'add', 'web', '--name', 'Web app', '--origin', 'https://app.example.com'],
      env,
    );
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600'); // it holds secret keys
    const ingestKey = /ingest key.*?:\s+(tt_live_\S+)/.exec(added.out)?.[1];
    const secretKey = /secret key.*?:\s+(tt_secret_\S+)/.exec(added.out)?.[1];
    expect(ingestKey).toBeDefined();
    expect(secretKey).toBeDefined();

    const listed = await telltale(['apps', 'list', '--json'], env);
    const { apps } = JSON.parse(listed.out) as { apps: AppView[] };
    expect(apps).toEqual([
      {
        id: 'web',
        name: 'Web app',
        projectId: 2,
        dsn: `http://${ingestKey}@127.0.0.1:8080/2`,
        ingestKeys: [ingestKey],
        secretKeys: [expect.stringMatching(/^tt_secret_.{4}…$/)],
        allowedOrigins: ['https://app.example.com'],
        revokedKeys: 0,
      },
    ]);
    expect(listed.out).not.toContain(secretKey); // secrets are shown once, when made
    expect((await telltale(['apps', 'list'], env)).out).toMatch(/web\s+\(Web app\)/);

    server = await startTelltale({ port: 0, dataDir: path.join(data.dir, 'data'), logger: false, env });
    const send = (key: string, origin = 'https://app.example.com') =>
      fetch(`${server!.url}/v1/batch?key=${key}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin },
        body: JSON.stringify({
          v: 1,
          batchId: `b-${Math.random()}`,
          sentAt: Date.now(),
          release: '1.0.0',
          environment: 'test',
          session: 's-1',
          events: [{ id: `e-${Math.random()}`, ts: Date.now(), kind: 'feature', name: 'export-csv' }],
        }),
      });
    expect((await send(ingestKey!)).status).toBe(202);
    expect((await send(ingestKey!, 'https://elsewhere.example')).status).toBe(403);
    expect((await send(server.demoKey!)).status).toBe(202); // the demo app is still there
    const logs = await fetch(`${server.url}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/x-ndjson' },
      body: JSON.stringify({ ts: Date.now(), level: 'info', message: 'order created', service: 'api' }),
    });
    expect(logs.status).toBe(202);
    expect((await readSpool(server.dataDir)).map((e) => e.app)).toEqual(['web', 'demo']);

    // Rotation: a second key, both work, then the old one is revoked.
    const rotated = await telltale(['apps', 'rotate-key', 'web'], env);
    expect(rotated.code).toBe(0);
    const newKey = /New ingest key for "web": (tt_live_\S+)/.exec(rotated.out)?.[1];
    expect(newKey).toBeDefined();
    await waitFor('the server to take the new key', async () =>
      (await send(newKey!)).status === 202 ? true : undefined,
    );
    expect((await send(ingestKey!)).status).toBe(202);

    const finished = await telltale(['apps', 'rotate-key', 'web', '--finish'], env);
    expect(finished.out).toContain(`Revoked ingest key ${ingestKey}`);
    await waitFor('the server to refuse the old key', async () =>
      (await send(ingestKey!)).status === 401 ? true : undefined,
    );
    const revoked = await send(ingestKey!);
    expect(((await revoked.json()) as { error: { message: string } }).error.message).toMatch(/revoked/);
    expect((await send(newKey!)).status).toBe(202);

    // A broken file is reported and ignored: the keys in service stay. The server reports it on its
    // log (off in tests, so the test listens there): waiting for that report, not a sleep, proves the
    // watcher read the broken file before the key is tried.
    const errorLog = listenToErrorLog(server);
    const valid = await readFile(file, 'utf8');
    await writeFile(file, '{ "apps": [ { "id": ');
    const report = await waitFor('the server to report the broken apps file', async () =>
      errorLog.reports.find((r) => r.includes('apps file not reloaded')),
    ).finally(() => errorLog.stop());
    expect(report).toContain('is not valid JSON');
    expect((await send(newKey!)).status).toBe(202);
    const broken = await telltale(['apps', 'list'], env);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain(`TELLTALE_ERR_INVALID_CONFIG: ${file}: is not valid JSON`);
    // And the watcher is still alive after it: a valid change (a second app) goes into service.
    const later = JSON.parse(valid) as { apps: Array<Record<string, unknown>> };
    later.apps.push({ id: 'later', name: 'Later app', ingestKeys: ['tt_live_later_0123456789abcdef'] });
    await writeFile(file, JSON.stringify(later));
    await waitFor('the server to take the app added after the broken file', async () =>
      (await send('tt_live_later_0123456789abcdef', 'https://other.example')).status === 202
        ? true
        : undefined,
    );
    expect((await send(newKey!)).status).toBe(202);
  });

  it("sets an app's own quotas, which a running server applies without a restart", async () => {
    data = await tempDir('apps');
    const file = path.join(data.dir, 'telltale.config.json');
    const env = { TELLTALE_CONFIG: file };
    const added = await telltale(['apps', 'add', 'web'], env);
    const ingestKey = /ingest key.*?:\s+(tt_live_\S+)/.exec(added.out)?.[1];
    expect((await telltale(['apps', 'quota', 'web'], env)).out).toContain("the collector's defaults");

    const set = await telltale(
      ['apps', 'quota', 'web', '--events-per-minute', '50000', '--bytes-per-day', '0'],
      env,
    );
    expect(set.code).toBe(0);
    expect(set.out).toContain('eventsPerMinute 50000, bytesPerDay off');
    expect(JSON.parse(await readFile(file, 'utf8')).apps[0].quotas).toEqual({
      eventsPerMinute: 50000,
      bytesPerDay: 0,
    });
    const listed = JSON.parse((await telltale(['apps', 'list', '--json'], env)).out) as { apps: unknown[] };
    expect(listed.apps[0]).toMatchObject({ quotas: { eventsPerMinute: 50000, bytesPerDay: 0 } });
    // The public-key client budgets are set the same way (an office behind one address needs more).
    const budget = await telltale(['apps', 'quota', 'web', '--bytes-per-address-per-hour', '67108864'], env);
    expect(budget.out).toContain('bytesPerAddressPerHour 67108864');
    expect(JSON.parse(await readFile(file, 'utf8')).apps[0].quotas).toEqual({
      eventsPerMinute: 50000,
      bytesPerDay: 0,
      bytesPerAddressPerHour: 67108864,
    });
    const bad = await telltale(['apps', 'quota', 'web', '--events-per-minute', 'lots'], env);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--events-per-minute must be a whole number');
    expect((await telltale(['apps', 'quota', 'nope', '--bytes-per-day', '1'], env)).err).toContain(
      'no app "nope"',
    );

    server = await startTelltale({ port: 0, dataDir: path.join(data.dir, 'data'), logger: false, env });
    const send = () =>
      fetch(`${server!.url}/v1/batch?key=${ingestKey}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({
          v: 1,
          batchId: `b-${Math.random()}`,
          sentAt: Date.now(),
          release: '1.0.0',
          environment: 'test',
          session: 's-1',
          events: [{ id: `e-${Math.random()}`, ts: Date.now(), kind: 'feature', name: 'export-csv' }],
        }),
      });
    expect((await send()).status).toBe(202);
    // One event a minute: once the server has re-read the file, the app is held to it.
    expect((await telltale(['apps', 'quota', 'web', '--events-per-minute', '1'], env)).code).toBe(0);
    const refused = await waitFor('the server to apply the quota', async () => {
      const res = await send();
      return res.status === 429 ? res : undefined;
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
      code: 'TELLTALE_ERR_QUOTA_EXCEEDED',
      field: 'eventsPerMinute',
      limit: 1,
    });
    // Back to the collector's default (60,000 a minute).
    expect((await telltale(['apps', 'quota', 'web', '--clear'], env)).out).toContain(
      "the collector's defaults",
    );
    expect(JSON.parse(await readFile(file, 'utf8')).apps[0].quotas).toBeUndefined();
    await waitFor('the server to lift the quota', async () =>
      (await send()).status === 202 ? true : undefined,
    );
  });

  it('rotates the secret key the same way, refuses bad usage, and refuses to start on a missing named file', async () => {
    data = await tempDir('apps');
    const file = path.join(data.dir, 'apps.json');
    const env = { TELLTALE_CONFIG: file };
    expect((await telltale(['apps', 'add', 'api'], env)).code).toBe(0);
    const before = JSON.parse(await readFile(file, 'utf8')).apps[0].secretKeys as string[];
    const rotated = await telltale(['apps', 'rotate-key', 'api', '--secret'], env);
    expect(rotated.out).toMatch(/New secret key for "api": tt_secret_/);
    const after = JSON.parse(await readFile(file, 'utf8')).apps[0];
    expect(after.secretKeys).toHaveLength(2);
    expect(after.secretKeys[1]).toBe(before[0]);
    // A third rotation keeps two active keys and revokes the oldest.
    const third = await telltale(['apps', 'rotate-key', 'api', '--secret'], env);
    expect(third.out).toMatch(/Revoked secret key tt_secret_/);
    expect(JSON.parse(await readFile(file, 'utf8')).apps[0]).toMatchObject({
      secretKeys: [expect.any(String), after.secretKeys[0]],
      revokedKeys: [expect.stringMatching(/^[0-9a-f]{64}$/)],
    });

    expect((await telltale(['apps', 'add'], env)).code).toBe(2);
    expect((await telltale(['apps', 'add', 'api'], env)).err).toContain('already exists');
    expect((await telltale(['apps', 'rotate-key', 'nope'], env)).err).toContain('no app "nope"');
    expect((await telltale(['apps', 'add', 'web', '--origin', 'https://x.example/path'], env)).code).toBe(2);
    expect((await telltale(['apps', 'add', 'demo'], env)).code).toBe(0);

    // The server reserves "demo" for its built-in demo app, and a named file must exist.
    await expect(
      startTelltale({ port: 0, dataDir: path.join(data.dir, 'd1'), logger: false, env }),
    ).rejects.toThrow(/apps\[1\]\.id: "demo" is the built-in demo app's id/);
    await expect(
      startTelltale({
        port: 0,
        dataDir: path.join(data.dir, 'd2'),
        logger: false,
        env: { TELLTALE_CONFIG: path.join(data.dir, 'missing.json') },
      }),
    ).rejects.toThrow(/TELLTALE_CONFIG: .*missing\.json does not exist/);
  });
});
