import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { makeBatch, startHarness, WEB_KEY, type Harness } from './helpers.js';

describe('size limits', () => {
  let h: Harness;
  afterEach(() => h.close());

  const post = (body: Buffer, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: body,
      headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain', ...headers },
    });

  it('413 over the compressed limit, naming the limit, in our JSON shape', async () => {
    h = await startHarness({ limits: { maxCompressedBytes: 4096, maxDecompressedBytes: 65536 } });
    const res = await post(Buffer.alloc(5000, 'x'), { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({
      error: { code: 'TELLTALE_ERR_BODY_TOO_LARGE', message: expect.any(String), limit: 4096 },
    });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(await h.envelopes()).toEqual([]);
  });

  it('413 for a gzip bomb under the compressed limit, and the next valid batch is still accepted', async () => {
    h = await startHarness({ limits: { maxCompressedBytes: 256 * 1024, maxDecompressedBytes: 512 * 1024 } });
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024)); // 20 MB of zeros → ~20 KB
    expect(bomb.length).toBeLessThan(256 * 1024);
    const res = await post(bomb, { 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({
      code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE',
      limit: 512 * 1024,
    });

    const sniffed = await post(bomb); // same bomb without Content-Encoding, found by its magic bytes
    expect(sniffed.json().error.code).toBe('TELLTALE_ERR_DECOMPRESSED_TOO_LARGE');

    const ok = await post(gzipSync(JSON.stringify(makeBatch())));
    expect(ok.statusCode).toBe(202);
    expect(await h.envelopes()).toHaveLength(1);
  });

  it('refuses a 1 MB → 1 GB bomb with the default limits without inflating it', async () => {
    h = await startHarness({ limits: { maxCompressedBytes: 2 * 1024 * 1024 } });
    // 64 gzip members of 16 MiB of zeros each: 1 GiB inflated, about 1 MB on the wire.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);

    const before = process.memoryUsage();
    const res = await post(bomb, { 'content-encoding': 'gzip' });
    const after = process.memoryUsage();

    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({
      code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE',
      limit: 10 * 1024 * 1024,
    });
    // Inflating it all would take 1 GiB; the limit stops it at ~10 MiB.
    expect(after.rss - before.rss).toBeLessThan(200 * 1024 * 1024);
  });
});
