import http from 'node:http';
import net from 'node:net';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionDrain } from '../src/roles/shutdown.js';
import { tempDir } from './helpers.js';
import { startTelltaleProcess } from './roles-process.js';

/**
 * Shutdown does not wait on clients: Node's server.close() waits for every connection to end and
 * reaps idle keep-alive ones only once, so a request in flight at SIGTERM (its answer says
 * keep-alive) or a socket a browser opened and never used held `telltale start` open until the
 * client hung up (over a minute; the demo-timeline test's afterAll timed out at 120 s).
 */

const closed = (socket: net.Socket): Promise<void> =>
  socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));

/** Reads from a socket or pipe until `pattern` matches what arrived since the call. */
function readUntil(socket: Readable, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (!pattern.test(text)) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(text);
    };
    const onClose = (): void => reject(new Error(`closed before ${pattern}; got: ${text}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

describe('connectionDrain: a fastify server closes without waiting on its clients', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function serve(graceMs?: number) {
    const drain = connectionDrain(graceMs);
    app = Fastify({ serverFactory: drain.serverFactory });
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.get('/slow', async () => {
      entered();
      await gate;
      return 'the whole answer';
    });
    app.get('/never', () => new Promise(() => undefined));
    // /slow answers once the server stopped listening (fastify calls server.close() right after its
    // preClose hooks), as a request still running when the SIGTERM came.
    app.addHook('preClose', async () => void setImmediate(release));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as net.AddressInfo;
    return { drain, port, inHandler };
  }

  it("keeps fastify's own server settings (keep-alive 72 s)", async () => {
    await serve();
    expect(app!.server.keepAliveTimeout).toBe(72_000);
  });

  it('a connection opened and never used is closed, and close() ends', async () => {
    const { drain, port } = await serve();
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    drain.drain();
    await app!.close();
    await closed(socket);
    app = undefined;
  });

  it('a request in flight gets its whole answer, then its keep-alive connection is closed and close() ends', async () => {
    const { drain, port, inHandler } = await serve();
    const agent = new http.Agent({ keepAlive: true });
    let socket: net.Socket | undefined;
    const answer = new Promise<{ status?: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/slow', agent }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode, body }));
        })
        .on('socket', (opened: net.Socket) => (socket = opened))
        .on('error', reject);
    });
    await inHandler;
    drain.drain();
    const closing = app!.close();
    const { status, body } = await answer;
    expect([status, body]).toEqual([200, 'the whole answer']);
    await closing;
    await closed(socket!);
    agent.destroy();
    app = undefined;
  });

  it('a request that never ends is cut after the grace', async () => {
    const { drain, port } = await serve(0);
    const failed = new Promise<string>((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: '/never' }, () => resolve('answered'))
        .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    await new Promise<void>((resolve) => app!.server.once('request', () => resolve()));
    drain.drain();
    await app!.close();
    expect(await failed).toBe('ECONNRESET');
    app = undefined;
  });
});

describe('telltale start, SIGTERM with clients still connected', () => {
  it('answers the request in flight, closes the idle sockets and exits 0', async () => {
    const data = await tempDir('shutdown-connections');
    const token = 'shutdown-connections-token-0123456789-abcdef';
    const telltale = await startTelltaleProcess(
      ['start'],
      {
        TELLTALE_PORT: '0',
        TELLTALE_DATA_DIR: data.dir,
        TELLTALE_LOG_LEVEL: 'warn',
        TELLTALE_API_TOKEN: token,
      },
      { ready: /Telltale is running on (http:\/\/127\.0\.0\.1:\d+)/ },
    );
    try {
      const { port } = new URL(telltale.url);
      const connect = async (): Promise<net.Socket> => {
        const socket = net.connect(Number(port), '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        return socket;
      };
      // A socket opened and never used (a browser's preconnect).
      const silent = await connect();
      // A request the server holds (its body is still coming) when the SIGTERM arrives: the 100
      // Continue says the server has it.
      const inFlight = await connect();
      inFlight.write(
        [
          'POST /demo/api/checkout HTTP/1.1',
          `Host: 127.0.0.1:${port}`,
          `Authorization: Bearer ${token}`,
          'Content-Type: application/json',
          'Content-Length: 2',
          'Connection: keep-alive',
          'Expect: 100-continue',
          '',
          '',
        ].join('\r\n'),
      );
      await readUntil(inFlight, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
      const stopped = telltale.stop();
      await readUntil(telltale.child.stdout!, /SIGTERM: /);
      inFlight.write('{}');
      const answer = await readUntil(inFlight, /\r\n\r\n\{[^}]*\}/);
      expect(answer).toMatch(/^HTTP\/1\.1 502 /m);
      expect(answer).toContain('payment_declined');
      await Promise.all([closed(inFlight), closed(silent)]);
      expect(await stopped).toBe(0);
    } finally {
      await telltale.kill();
      await data.remove();
    }
  }, 90_000);
});

describe('the split roles, SIGTERM with clients still connected', () => {
  // The dashboards role (a browser tab's keep-alive), the dispatcher's ops listener (a Prometheus
  // scraper's) and the standalone collector (an SDK's or a load balancer's pool) close their
  // connections too instead of waiting for the client.
  const apps = JSON.stringify([{ id: 'web', name: 'Web', ingestKeys: ['tt_live_shutdown_roles_0001'] }]);
  for (const [command, portVariable, extra] of [
    ['dashboards', 'TELLTALE_PORT', {}],
    ['dispatcher', 'TELLTALE_OPS_PORT', {}],
    ['collector', 'TELLTALE_PORT', { TELLTALE_APPS: apps }],
  ] as const) {
    it(`telltale ${command} closes an unused socket and a kept-alive one, and exits 0`, async () => {
      const data = await tempDir(`shutdown-${command}`);
      const telltale = await startTelltaleProcess([command], {
        [portVariable]: '0',
        TELLTALE_DATA_DIR: data.dir,
        TELLTALE_LOG_LEVEL: 'warn',
        TELLTALE_API_TOKEN: 'shutdown-roles-token-0123456789-abcdefgh',
        TELLTALE_DISPATCH_THREADS: '1',
        ...extra,
      });
      try {
        const { port } = new URL(telltale.url);
        const connect = async (): Promise<net.Socket> => {
          const socket = net.connect(Number(port), '127.0.0.1');
          await new Promise((resolve) => socket.once('connect', resolve));
          return socket;
        };
        const silent = await connect();
        const keptAlive = await connect();
        keptAlive.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
        const answer = await readUntil(keptAlive, /\r\n\r\n\{[^}]*\}/);
        expect(answer).toMatch(/^HTTP\/1\.1 200 /m);
        expect(answer).toMatch(/^connection: keep-alive/im);
        const stopped = telltale.stop();
        await Promise.all([closed(keptAlive), closed(silent)]);
        expect(await stopped).toBe(0);
      } finally {
        await telltale.kill();
        await data.remove();
      }
    }, 90_000);
  }
});
