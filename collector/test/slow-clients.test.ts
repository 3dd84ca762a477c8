import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCollectorServer, type RunningCollector } from '../src/index.js';
import { APPS, makeBatch, tempDir, WEB_KEY } from './helpers.js';

interface SlowSocket {
  socket: net.Socket;
  closed: boolean;
  answer: string;
}

/** A client from `localAddress` that sends half a request and then nothing (slowloris). */
function slowClient(port: number, localAddress: string, partial: string): Promise<SlowSocket> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const slow: SlowSocket = { socket, closed: false, answer: '' };
    socket.on('data', (chunk) => (slow.answer += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => (slow.closed = true));
    socket.on('connect', () => {
      socket.write(partial);
      resolve(slow);
    });
  });
}

/** /metrics on the standalone collector needs the API token (docs/security.md). */
const API_TOKEN = 'slow-clients-metrics-token-0123456789abcdef';

/**
 * The header timeout, long enough that every slow connection of one address is open (they are
 * opened all at once) before the first is timed out, even on a loaded machine: the per-address cap
 * is then what refuses the rest, as the test claims.
 */
const HEADERS_MS = 2_000;

describe('slow clients and connection floods (real server)', () => {
  let collector: RunningCollector | undefined;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const sockets: SlowSocket[] = [];
  afterEach(async () => {
    for (const s of sockets) s.socket.destroy();
    sockets.length = 0;
    await collector?.close();
    await tmp.remove();
  });

  it('times out half-sent requests, caps connections per address, and keeps serving everyone else', async () => {
    tmp = await tempDir();
    collector = await startCollectorServer({
      port: 0,
      dataDir: tmp.dir,
      env: { TELLTALE_APPS: JSON.stringify(APPS), TELLTALE_API_TOKEN: API_TOKEN },
      config: {
        timeouts: { headersMs: HEADERS_MS, requestMs: HEADERS_MS + 1_000 },
        connections: { perIp: 20 },
        rateLimits: { perIp: { perSecond: 0 }, perKey: { perSecond: 0 } },
      },
    });
    const port = Number(new URL(collector.url).port);

    // Slowloris from two addresses, each address's connections opened at once (not one after
    // another): 60 dribbling headers, 60 more stuck mid-body.
    const started = Date.now();
    const flood = (address: string, partial: string) =>
      Promise.all(Array.from({ length: 60 }, () => slowClient(port, address, partial)));
    sockets.push(
      ...(
        await Promise.all([
          flood('127.0.0.2', 'POST /v1/batch HTTP/1.1\r\nHost: x\r\n'),
          flood(
            '127.0.0.3',
            `POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Telltale-Key: ${WEB_KEY}\r\nContent-Length: 5000\r\n\r\n{"v":1`,
          ),
        ])
      ).flat(),
    );
    // Had opening them taken longer than the timeout, the cap would not be what this test sees.
    expect(Date.now() - started).toBeLessThan(HEADERS_MS);

    // Meanwhile a real client from another address is served.
    const batch = makeBatch();
    const res = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
      body: JSON.stringify(batch),
    });
    expect(res.status).toBe(202);

    // Every slow connection is closed by the server: beyond 20 per address at once, the rest by the timeouts.
    await expect
      .poll(() => sockets.filter((s) => !s.closed).length, { timeout: 15_000, interval: 100 })
      .toBe(0);
    const timedOut = sockets.filter((s) => s.answer.startsWith('HTTP/1.1 408'));
    expect(timedOut.length).toBeGreaterThanOrEqual(20);
    const answer = await fetch(`${collector.url}/metrics`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(answer.status).toBe(200);
    const metrics = await answer.text();
    const refused = Number(/telltale_collector_connections_refused_total (\d+)/.exec(metrics)?.[1]);
    expect(refused).toBeGreaterThanOrEqual(80);
    const timeouts = Number(
      /telltale_collector_client_errors_total\{reason="timeout"\} (\d+)/.exec(metrics)?.[1],
    );
    expect(timeouts).toBe(timedOut.length);

    // And afterwards the same addresses are welcome again.
    const again = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: { 'x-telltale-key': WEB_KEY },
      body: JSON.stringify(makeBatch()),
    });
    expect(again.status).toBe(202);
  });
});
