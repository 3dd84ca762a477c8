import net from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startCollectorServer, type RunningCollector } from '../src/index.js';
import {
  APPS,
  makeBatch,
  readEnvelopes,
  startHarness,
  tempDir,
  WEB_KEY,
  WEB_SECRET,
  type Harness,
} from './helpers.js';

describe('/healthz, /readyz, /metrics', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('exposes accepted and rejected by reason, bytes, spool depth and bytes, fsync latency and per-app counts', async () => {
    h = await startHarness();
    const body = gzipSync(JSON.stringify(makeBatch()));
    await h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: body,
      headers: { 'x-telltale-key': WEB_KEY },
    });
    await h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: '{',
      headers: { 'x-telltale-key': WEB_KEY },
    });
    await h.app.inject({
      method: 'POST',
      url: '/v1/logs',
      payload: JSON.stringify([{ ts: Date.now(), level: 'warn', message: 'slow query', service: 'db' }]),
      headers: { authorization: `Bearer ${WEB_SECRET}`, 'content-type': 'application/json' },
    });
    expect((await h.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await h.app.inject('/readyz')).json()).toEqual({ status: 'ready' });

    const res = await h.app.inject('/metrics');
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toContain('telltale_collector_accepted_total{route="batch",app="web"} 2');
    expect(text).toContain('telltale_collector_accepted_total{route="logs",app="web"} 1');
    expect(text).toContain(
      'telltale_collector_rejected_total{route="batch",code="TELLTALE_ERR_INVALID_JSON",reason="invalid_json"} 1',
    );
    expect(text).toContain(
      `telltale_collector_received_bytes_total{route="batch",encoding="compressed"} ${body.length}`,
    );
    expect(text).toMatch(
      /telltale_collector_received_bytes_total\{route="batch",encoding="decompressed"\} \d{3,}/,
    );
    expect(text).toContain('telltale_spool_segments{spool="client"} 1');
    expect(text).toContain('telltale_spool_segments{spool="server"} 1');
    expect(text).toMatch(/telltale_spool_bytes\{spool="client"\} [1-9]\d*/);
    expect(text).toContain('telltale_spool_fsync_seconds_bucket{spool="client",le="+Inf"} 1');
    expect(text).toContain('telltale_spool_fsync_seconds_count{spool="server"} 1');
    expect(text).toContain('telltale_collector_idempotency_entries 1');
    // Every sample line is `name{labels} number`: what a Prometheus scrape needs.
    for (const line of text
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('#')))
      expect(line).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[\d.e+-]+$/);
  });
});

describe('graceful shutdown of the real server', () => {
  let collector: RunningCollector | undefined;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  afterEach(async () => {
    await collector?.close();
    await tmp.remove();
  });

  it('stops accepting, finishes the request in flight (fsync and 202), then exits', async () => {
    tmp = await tempDir();
    collector = await startCollectorServer({
      port: 0,
      dataDir: tmp.dir,
      env: { TELLTALE_APPS: JSON.stringify(APPS) },
    });
    const { port } = new URL(collector.url);
    const batch = makeBatch();
    const body = Buffer.from(JSON.stringify(batch));

    // A request whose body is still arriving when shutdown begins.
    const requestSeen = new Promise((resolve) => collector!.app.server.once('request', resolve));
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      `POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Telltale-Key: ${WEB_KEY}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, 10));
    await requestSeen;

    const shutdown = collector.close();
    // New connections are refused once shutdown began.
    await expect
      .poll(async () =>
        fetch(`${collector!.url}/healthz`).then(
          () => 'served',
          () => 'refused',
        ),
      )
      .toBe('refused');
    socket.write(body.subarray(10));
    await shutdown;
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 202/);
    collector = undefined;
    const stored = await readEnvelopes(path.join(tmp.dir, 'spool', 'client'));
    expect(stored.map((e) => e.batch)).toEqual([batch]);
  });
});
