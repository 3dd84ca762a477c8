import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveCollectorConfig, startCollectorServer, type RunningCollector } from '../src/index.js';
import { APPS, makeBatch, startHarness, tempDir, WEB_KEY, type Harness } from './helpers.js';

const fails = (env: Record<string, string>, options = {}): string => {
  try {
    resolveCollectorConfig({ apps: APPS, ...options }, env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a config error');
};

describe('TELLTALE_TRUST_PROXY: a hop count or a list of proxies, never anyone', () => {
  let h: Harness;
  afterEach(() => h.close());

  // One request per client address, refilled once a minute: a second request from the same client is 429.
  const start = (trustProxy: unknown) =>
    startHarness({
      trustProxy: trustProxy as never,
      rateLimits: { perIp: { perSecond: 1, burst: 1 }, perKey: { perSecond: 0 } },
    });
  const send = (remoteAddress: string, forwardedFor?: string) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: JSON.stringify(makeBatch()),
      headers: {
        'x-telltale-key': WEB_KEY,
        'content-type': 'text/plain',
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
      remoteAddress,
    });

  it('with a hop count, keys the per-IP limit on the address the last proxy saw, not on what the client wrote before it', async () => {
    h = await start(1);
    expect((await send('10.0.0.1', '9.9.9.9, 203.0.113.5')).statusCode).toBe(202);
    // A forged left-most entry does not make a new client.
    expect((await send('10.0.0.1', '8.8.8.8, 203.0.113.5')).statusCode).toBe(429);
    expect((await send('10.0.0.1', '203.0.113.6')).statusCode).toBe(202);
  });

  it('with a CIDR list, believes X-Forwarded-For only from the listed proxies', async () => {
    h = await start(['10.0.0.0/8']);
    // Both hops are inside 10/8, so the client is the first address outside it.
    expect((await send('10.1.1.1', '198.51.100.7, 10.2.2.2')).statusCode).toBe(202);
    expect((await send('10.9.9.9', '198.51.100.7')).statusCode).toBe(429);
    // A sender that is not a listed proxy is keyed on its own address, whatever it claims.
    expect((await send('203.0.113.9', '198.51.100.8')).statusCode).toBe(202);
    expect((await send('203.0.113.9', '198.51.100.99')).statusCode).toBe(429);
    expect((await send('10.1.1.1', '198.51.100.8')).statusCode).toBe(202);
  });

  it('takes IPv6 proxies and CIDRs', async () => {
    h = await start('fd00::/8,10.0.0.1');
    expect((await send('fd00::1', '2001:db8::7')).statusCode).toBe(202);
    expect((await send('10.0.0.1', '2001:db8::7')).statusCode).toBe(429);
    expect((await send('fd00::2', '2001:db8::8')).statusCode).toBe(202);
    expect((await send('2001:db8::66', '2001:db8::9')).statusCode).toBe(202);
    expect((await send('2001:db8::66', '2001:db8::10')).statusCode).toBe(429);
  });

  it('refuses "trust anyone" and malformed lists at start-up, naming the field and the fix', () => {
    for (const value of ['true', '*', 'yes', '10.0.0.1,*'])
      expect(fails({ TELLTALE_TRUST_PROXY: value })).toMatch(/TELLTALE_TRUST_PROXY: .*hop count/);
    expect(fails({}, { trustProxy: true })).toMatch(/trustProxy: .*X-Forwarded-For/);
    expect(fails({ TELLTALE_TRUST_PROXY: '10.0.0.0/33' })).toMatch(/TELLTALE_TRUST_PROXY: entry 1/);
    expect(fails({ TELLTALE_TRUST_PROXY: '10.0.0.1,proxy.local' })).toMatch(/entry 2, "proxy.local"/);
    expect(fails({ TELLTALE_TRUST_PROXY: '99' })).toMatch(/TELLTALE_TRUST_PROXY: a hop count/);
    const hops = resolveCollectorConfig({ apps: APPS }, { TELLTALE_TRUST_PROXY: '2' }).trustProxy;
    expect(typeof hops === 'function' && hops.hops).toBe(2);
    expect(
      resolveCollectorConfig(
        { apps: APPS },
        { TELLTALE_TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,::1,loopback' },
      ).trustProxy,
    ).toEqual(['10.0.0.1', '192.168.0.0/16', '::1', 'loopback']);
    expect(resolveCollectorConfig({ apps: APPS }, { TELLTALE_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  });
});

describe('connections per address with a proxy list (real server)', () => {
  let collector: RunningCollector | undefined;
  let remove: (() => Promise<void>) | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await collector?.close();
    await remove?.();
  });

  /** Opens a connection from `localAddress`; resolves with the first bytes of the answer, or '' if the server closed it. */
  const open = (port: number, localAddress: string) =>
    new Promise<{ ask: () => Promise<string> }>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress });
      sockets.push(socket);
      let answer = '';
      let closed = false;
      const done: Array<() => void> = [];
      socket.on('data', (chunk) => {
        answer += chunk.toString();
        done.splice(0).forEach((f) => f());
      });
      socket.on('close', () => {
        closed = true;
        done.splice(0).forEach((f) => f());
      });
      socket.on('error', () => undefined);
      socket.once('connect', () =>
        resolve({
          ask: () =>
            new Promise<string>((answered) => {
              if (closed) return answered('');
              done.push(() => answered(answer));
              socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
            }),
        }),
      );
      socket.once('error', reject);
    });

  it('does not cap connections from a listed proxy (it carries many clients), and caps everyone else', async () => {
    const tmp = await tempDir();
    remove = tmp.remove;
    collector = await startCollectorServer({
      port: 0,
      dataDir: tmp.dir,
      env: { TELLTALE_APPS: JSON.stringify(APPS) },
      config: { trustProxy: ['127.0.0.2'], connections: { perIp: 2 } },
    });
    const port = Number(new URL(collector.url).port);
    const fromProxy = [];
    for (let i = 0; i < 4; i++) fromProxy.push(await open(port, '127.0.0.2'));
    const fromClient = [];
    for (let i = 0; i < 4; i++) fromClient.push(await open(port, '127.0.0.3'));
    const proxyAnswers = await Promise.all(fromProxy.map((c) => c.ask()));
    const clientAnswers = await Promise.all(fromClient.map((c) => c.ask()));
    expect(proxyAnswers.map((a) => a.startsWith('HTTP/1.1 200'))).toEqual([true, true, true, true]);
    expect(clientAnswers.map((a) => a.startsWith('HTTP/1.1 200'))).toEqual([true, true, false, false]);
  });
});
