import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { openAttachmentStore } from '../src/index.js';
import { startHarness, tempDir, WEB_KEY, WEB_SECRET, type Harness } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const body = gzipSync(JSON.stringify({ title: 'Export button does nothing', rows: 3 }));

describe('attachment quotas and retention', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const upload = (query: string, headers: Record<string, string> = {}) =>
    h!.app.inject({
      method: 'POST',
      url: `/v1/attachments?${query}`,
      payload: body,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...headers },
    });

  it('takes 3 bug reports per session per day with the ingest key, then 429 naming the quota; other sessions and the secret key go on', async () => {
    h = await startHarness();
    for (let i = 0; i < 3; i++) expect((await upload(`key=${WEB_KEY}&session=s-1`)).statusCode).toBe(202);
    const over = await upload(`key=${WEB_KEY}&session=s-1`);
    expect(over.statusCode).toBe(429);
    expect(over.headers['retry-after']).toBeDefined();
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(DAY / 1000);
    expect(over.json().error).toMatchObject({
      code: 'TELLTALE_ERR_QUOTA_EXCEEDED',
      field: 'attachmentsPerSession',
      limit: 3,
    });
    // CORS headers on the refusal too, so the page's reportBug can read it.
    expect(over.headers['access-control-allow-origin']).toBe('*');
    expect((await upload(`key=${WEB_KEY}&session=s-2`)).statusCode).toBe(202);
    // A server holding the secret key is not held to the per-session count.
    expect((await upload('session=s-1', { authorization: `Bearer ${WEB_SECRET}` })).statusCode).toBe(202);
    // A retried upload (same id) is a duplicate and does not use up the session's reports.
    expect((await upload(`key=${WEB_KEY}&session=s-3&id=report-0001`)).json().duplicate).toBe(false);
    expect((await upload(`key=${WEB_KEY}&session=s-3&id=report-0001`)).json().duplicate).toBe(true);
    expect((await upload(`key=${WEB_KEY}&session=s-3`)).statusCode).toBe(202);
    expect((await upload(`key=${WEB_KEY}&session=s-3`)).statusCode).toBe(202);
  });

  it("caps the app's attachments per day, counted again from the store after a restart", async () => {
    h = await startHarness({ quotas: { attachmentsPerDay: 4 } });
    for (let i = 0; i < 4; i++) expect((await upload(`key=${WEB_KEY}&session=s-${i}`)).statusCode).toBe(202);
    const over = await upload(`key=${WEB_KEY}&session=s-9`);
    expect(over.json().error).toMatchObject({ field: 'attachmentsPerDay', limit: 4 });
    await h.restart();
    expect((await upload(`key=${WEB_KEY}&session=s-10`)).statusCode).toBe(429);
  });

  it('deletes whole day folders past the retention at open, keeps recent ones, and keeps files private', async () => {
    const tmp = await tempDir();
    try {
      const dir = path.join(tmp.dir, 'attachments');
      const old = path.join(dir, 'web', dayOf(Date.now() - 31 * DAY));
      const recent = path.join(dir, 'web', dayOf(Date.now() - 29 * DAY));
      for (const folder of [old, recent]) {
        await mkdir(folder, { recursive: true });
        await writeFile(path.join(folder, 'a-00000001.gz'), body);
        await writeFile(path.join(folder, 'a-00000001.json'), '{}\n');
      }
      const store = await openAttachmentStore({ dir, maxTotalBytes: 1024 * 1024, retentionDays: 30 });
      try {
        expect(await readdir(path.join(dir, 'web'))).toEqual([path.basename(recent)]);
        expect(store.stats().files).toBe(1);
        const saved = await store.save({ app: 'api', session: 's', body, inflatedBytes: 10 });
        expect((await stat(saved.path)).mode & 0o777).toBe(0o600);
        expect((await stat(path.dirname(saved.path))).mode & 0o777).toBe(0o700);
        expect((await stat(path.join(dir, 'api'))).mode & 0o777).toBe(0o700);
        expect((await stat(dir)).mode & 0o777).toBe(0o700);
        expect(store.usageToday().get('api')).toMatchObject({ files: 1 });
        // The hourly pass deletes the same way.
        expect(await store.removeExpired()).toBe(0);
      } finally {
        await store.close();
      }
    } finally {
      await tmp.remove();
    }
  });

  it('runs the same clean-up hourly (a clock past the retention)', async () => {
    const tmp = await tempDir();
    try {
      const dir = path.join(tmp.dir, 'attachments');
      let now = Date.now();
      const store = await openAttachmentStore({
        dir,
        maxTotalBytes: 1024 * 1024,
        retentionDays: 1,
        now: () => now,
      });
      try {
        await store.save({ app: 'web', session: 's', body, inflatedBytes: 10 });
        now += 3 * DAY;
        expect(await store.removeExpired()).toBe(1);
        expect(await readdir(path.join(dir, 'web'))).toEqual([]);
        expect(store.stats()).toMatchObject({ files: 0, bytes: 0 });
      } finally {
        await store.close();
      }
    } finally {
      await tmp.remove();
    }
  });
});
