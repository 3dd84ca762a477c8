import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { APPS, startHarness, WEB_KEY, WEB_SECRET, type Harness } from './helpers.js';

const report = JSON.stringify({
  title: 'Export button does nothing',
  breadcrumbs: ['click #export'],
  rows: 3,
});

describe('POST /v1/attachments (reportBug)', () => {
  let h: Harness;
  afterEach(() => h.close());

  const upload = (body: Buffer | string, query: string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: `/v1/attachments?${query}`,
      payload: body,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...headers },
    });
  const files = async (app: string) => {
    const root = path.join(h.dataDir, 'attachments', app);
    const days = await readdir(root);
    return (
      await Promise.all(
        days.map(async (d) => (await readdir(path.join(root, d))).map((f) => path.join(root, d, f))),
      )
    )
      .flat()
      .sort();
  };

  it('stores the gzip body and a sidecar under attachments/<app>/<day>/, durably, before the 202', async () => {
    h = await startHarness();
    const res = await upload(gzipSync(report), `key=${WEB_KEY}&session=s-42&event=err-7&id=bugreport-0001`, {
      'user-agent': 'Mozilla/5.0 Test',
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id: 'bugreport-0001', duplicate: false });
    const [body, meta] = await files('web');
    const day = new Date().toISOString().slice(0, 10);
    expect(body).toBe(path.join(h.dataDir, 'attachments', 'web', day, 'bugreport-0001.gz'));
    expect(gunzipSync(await readFile(body!)).toString()).toBe(report);
    expect(JSON.parse(await readFile(meta!, 'utf8'))).toMatchObject({
      id: 'bugreport-0001',
      app: 'web',
      session: 's-42',
      event: 'err-7',
      inflatedBytes: report.length,
      contentType: 'application/json',
      userAgent: 'Mozilla/5.0 Test',
    });

    // A retry of the same upload is a duplicate, stored once.
    const again = await upload(gzipSync(report), `key=${WEB_KEY}&session=s-42&id=bugreport-0001`);
    expect(again.json()).toEqual({ id: 'bugreport-0001', duplicate: true });
    expect(await files('web')).toHaveLength(2);
    // Without an id, one is made; a server may use the secret key in a header.
    const server = await upload(report, 'session=s-43', {
      authorization: `Bearer ${WEB_SECRET}`,
      'content-encoding': 'identity',
    });
    expect(server.statusCode).toBe(202);
    expect(server.json().id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await files('web')).toHaveLength(4);
  });

  it('refuses what it should, each with its code, and takes the next good upload', async () => {
    h = await startHarness({
      limits: { maxAttachmentBytes: 64 * 1024, maxDecompressedBytes: 1024 * 1024 },
      apps: [{ ...APPS[0]!, allowedOrigins: ['https://app.example.com'] }, APPS[1]!],
    });
    const cases: Array<[Awaited<ReturnType<typeof upload>>, number, string]> = [
      [await upload(gzipSync(report), 'session=s-1'), 401, 'TELLTALE_ERR_UNAUTHORIZED'],
      [await upload(gzipSync(report), `key=${WEB_KEY}`), 400, 'TELLTALE_ERR_INVALID_ATTACHMENT'],
      [
        await upload(gzipSync(report), `key=${WEB_KEY}&session=s&id=../../etc`),
        400,
        'TELLTALE_ERR_INVALID_ATTACHMENT',
      ],
      [
        await upload(Buffer.alloc(65 * 1024, 1), `key=${WEB_KEY}&session=s`),
        413,
        'TELLTALE_ERR_BODY_TOO_LARGE',
      ],
      [
        await upload(gzipSync(Buffer.alloc(8 * 1024 * 1024)), `key=${WEB_KEY}&session=s`),
        413,
        'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE',
      ],
      [
        await upload(Buffer.from('not gzip at all'), `key=${WEB_KEY}&session=s`),
        400,
        'TELLTALE_ERR_BAD_GZIP',
      ],
      [
        await upload(gzipSync(report), `key=${WEB_KEY}&session=s`, { origin: 'https://evil.example' }),
        403,
        'TELLTALE_ERR_ORIGIN_NOT_ALLOWED',
      ],
      [await upload(gzipSync(report), `key=${WEB_SECRET}&session=s`), 401, 'TELLTALE_ERR_UNAUTHORIZED'],
    ];
    for (const [res, status, code] of cases) {
      expect(res.statusCode, code).toBe(status);
      expect(res.json().error.code).toBe(code);
    }
    const ok = await upload(gzipSync(report), `key=${WEB_KEY}&session=s`, {
      origin: 'https://app.example.com',
    });
    expect(ok.statusCode).toBe(202);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(await files('web')).toHaveLength(2);
  });

  it('refuses with 503 at the store disk cap', async () => {
    h = await startHarness({ storage: { attachmentsMaxBytes: 64 * 1024 } });
    const big = gzipSync(Buffer.from(Array.from({ length: 20_000 }, (_, i) => `${i * 7919}`).join(',')));
    let last = 202;
    for (let i = 0; i < 20 && last === 202; i++)
      last = (await upload(big, `key=${WEB_KEY}&session=s-${i}`)).statusCode;
    expect(last).toBe(503);
    expect(h.stores.attachments.stats().bytes).toBeLessThanOrEqual(64 * 1024);
    // Only attachments are refused: batches still go through, so the collector stays ready.
    expect((await h.app.inject('/readyz')).statusCode).toBe(200);
    expect((await h.app.inject('/metrics')).body).toContain('telltale_attachments_max_bytes 65536');
  });
});
