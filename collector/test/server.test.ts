import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startCollectorServer, type RunningCollector } from '../src/index.js';
import { APPS, makeBatch, readEnvelopes, tempDir, WEB_KEY } from './helpers.js';

describe('standalone collector server (smoke)', () => {
  let collector: RunningCollector | undefined;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  afterEach(async () => {
    await collector?.close();
    await tmp.remove();
  });

  it('listens on 127.0.0.1, takes a real gzip upload over HTTP, and has it on disk after close', async () => {
    tmp = await tempDir();
    collector = await startCollectorServer({
      port: 0,
      dataDir: tmp.dir,
      env: { TELLTALE_APPS: JSON.stringify(APPS) },
    });
    expect(collector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const batch = makeBatch();
    const second = makeBatch();
    const res = await fetch(`${collector.url}/v1/batch?key=${WEB_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: gzipSync(JSON.stringify(batch)),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.json()).toEqual({ accepted: 2, duplicate: false });
    // No Content-Type at all (fetch sets none for raw bytes): still read as bytes and accepted.
    const bare = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: { 'x-telltale-key': WEB_KEY },
      body: Buffer.from(JSON.stringify(second)),
    });
    expect(bare.status).toBe(202);
    expect((await fetch(`${collector.url}/healthz`)).status).toBe(200);

    await collector.close();
    collector = undefined;
    const envelopes = await readEnvelopes(path.join(tmp.dir, 'spool', 'client'));
    expect(envelopes.map((e) => e.batch)).toEqual([batch, second]);
  });
});
