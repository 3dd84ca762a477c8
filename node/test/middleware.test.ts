import { AsyncLocalStorage } from 'node:async_hooks';
import { Writable } from 'node:stream';
import { context, trace, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import express from 'express';
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadOpenTelemetry,
  parseTraceparent,
  telltaleExpress,
  telltaleFastify,
  telltaleMixin,
  traceHeaders,
} from '@telltale/node';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${PARENT}-01`;

/** A real pino logger with the Telltale mixin, writing its JSON lines to memory. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text));
      callback();
    },
  });
  return { logger: pino({ mixin: telltaleMixin }, stream), lines };
}

// Fastify's own request lines carry the raw URL: the Telltale plugin writes the only one.
const quietFastify = (logger: pino.Logger) =>
  Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) });

const headers = {
  traceparent: TRACEPARENT,
  'x-telltale-session': 's-123',
  'x-telltale-user': 'u-42',
};

describe('fastify plugin', () => {
  it('gives every line of a request its trace, session and user, and writes one request line without the query string', async () => {
    const { logger, lines } = capturingLogger();
    const app = quietFastify(logger);
    await app.register(telltaleFastify);
    app.get('/orders/:id', async (request) => {
      request.log.info('loading order');
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.info('after an await');
      return { ok: true };
    });
    const response = await app.inject({
      method: 'GET',
      url: '/orders/981?email=a@b.example&q=secret',
      headers,
    });
    expect(response.statusCode).toBe(200);
    await app.close();

    const inside = lines.filter((l) => l.msg === 'loading order' || l.msg === 'after an await');
    expect(inside).toHaveLength(2);
    for (const line of inside) {
      expect(line).toMatchObject({ trace: TRACE, session: 's-123', user: 'u-42' });
      expect(line.span).toMatch(/^[\da-f]{16}$/);
      expect(line.span).not.toBe(PARENT); // this server's own hop
    }
    const requestLines = lines.filter((l) => l.route !== undefined);
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({ method: 'GET', route: '/orders/:id', status: 200, trace: TRACE });
    expect(typeof requestLines[0]!.durationMs).toBe('number');
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain('981');
    expect(everything).not.toContain('secret');
    expect(everything).not.toContain('a@b.example');
  });

  it('starts a trace when no valid traceparent came, and keeps requests apart', async () => {
    const { logger, lines } = capturingLogger();
    const app = quietFastify(logger);
    await app.register(telltaleFastify);
    app.get('/ping', async () => {
      logger.info('pong');
      return 'pong';
    });
    await app.inject({
      method: 'GET',
      url: '/ping',
      headers: { traceparent: `00-${TRACE.toUpperCase()}-${PARENT}-01` },
    });
    await app.inject({ method: 'GET', url: '/ping', headers: { 'x-telltale-user': 'not an id <script>' } });
    await app.close();
    const pongs = lines.filter((l) => l.msg === 'pong');
    expect(pongs).toHaveLength(2);
    expect(pongs[0]!.trace).toMatch(/^[\da-f]{32}$/);
    expect(pongs[0]!.trace).not.toBe(TRACE);
    expect(pongs[1]!.trace).not.toBe(pongs[0]!.trace);
    expect(pongs[1]!.user).toBeUndefined();
    // Outside any request: no ids.
    logger.info('at rest');
    expect(lines.at(-1)!.trace).toBeUndefined();
  });

  it('logs 5xx request lines as errors under the route pattern', async () => {
    const { logger, lines } = capturingLogger();
    const app = quietFastify(logger);
    await app.register(telltaleFastify);
    app.post('/checkout', async () => {
      throw new Error('payment declined');
    });
    expect((await app.inject({ method: 'POST', url: '/checkout?cart=7', headers })).statusCode).toBe(500);
    await app.close();
    const line = lines.find((l) => l.route === '/checkout');
    expect(line).toMatchObject({ level: 50, method: 'POST', status: 500, trace: TRACE });
  });
});

describe('express middleware', () => {
  it('gives every line of a request its trace, session and user, and writes one request line with the route pattern', async () => {
    const { logger, lines } = capturingLogger();
    const app = express();
    app.use(telltaleExpress({ logger }));
    app.get('/users/:id/orders', async (_req, res) => {
      logger.info('listing orders');
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.warn('slow store');
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/users/77/orders?token=abc123&page=2`, {
        headers,
      });
      expect(response.status).toBe(200);
      const missing = await fetch(`http://127.0.0.1:${port}/nowhere?x=1`);
      expect(missing.status).toBe(404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const inside = lines.filter((l) => l.msg === 'listing orders' || l.msg === 'slow store');
    expect(inside).toHaveLength(2);
    for (const line of inside) expect(line).toMatchObject({ trace: TRACE, session: 's-123', user: 'u-42' });
    const requestLines = lines.filter((l) => l.route !== undefined);
    expect(requestLines.map((l) => [l.route, l.status])).toEqual([
      ['/users/:id/orders', 200],
      ['(unmatched)', 404],
    ]);
    expect(requestLines[0]).toMatchObject({ method: 'GET', trace: TRACE });
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain('abc123');
    expect(everything).not.toContain('page=2');
    expect(everything).not.toContain('/users/77');
  });
});

describe('onward calls', () => {
  it('traceHeaders() carries the trace, session and user to the next service, which logs under them', async () => {
    const back = capturingLogger();
    const backApp = express();
    backApp.use(telltaleExpress({ logger: back.logger }));
    backApp.get('/stock/:sku', (_req, res) => {
      back.logger.info('checking stock');
      res.json({ inStock: true });
    });
    const backServer = backApp.listen(0, '127.0.0.1');
    await new Promise((resolve) => backServer.once('listening', resolve));
    const backPort = (backServer.address() as { port: number }).port;

    const front = capturingLogger();
    const frontApp = quietFastify(front.logger);
    await frontApp.register(telltaleFastify);
    let sent: Record<string, string> = {};
    frontApp.get('/cart', async (request) => {
      request.log.info('reading the cart');
      sent = traceHeaders();
      const response = await fetch(`http://127.0.0.1:${backPort}/stock/sku-9`, { headers: sent });
      return response.json();
    });
    try {
      const response = await frontApp.inject({ method: 'GET', url: '/cart', headers });
      expect(response.json()).toEqual({ inStock: true });
    } finally {
      await frontApp.close();
      await new Promise((resolve) => backServer.close(resolve));
    }
    const frontLine = front.lines.find((l) => l.msg === 'reading the cart')!;
    const backLine = back.lines.find((l) => l.msg === 'checking stock')!;
    // One trace across both services; each hop its own span, the front's named as the back's parent.
    expect(frontLine).toMatchObject({ trace: TRACE, session: 's-123', user: 'u-42' });
    expect(backLine).toMatchObject({ trace: TRACE, session: 's-123', user: 'u-42' });
    expect(sent.traceparent).toBe(`00-${TRACE}-${String(frontLine.span)}-01`);
    expect(backLine.span).not.toBe(frontLine.span);
    expect(back.lines.find((l) => l.route === '/stock/:sku')).toMatchObject({ trace: TRACE, status: 200 });
    expect(traceHeaders()).toEqual({}); // outside a request
  });
});

/** The smallest real ContextManager (what @opentelemetry/context-async-hooks does), on AsyncLocalStorage. */
class AlsContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    return ((...args: unknown[]) =>
      this.with(ctx, target as (...a: unknown[]) => unknown, undefined, ...args)) as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

describe('with OpenTelemetry', () => {
  beforeAll(() => {
    expect(context.setGlobalContextManager(new AlsContextManager())).toBe(true);
  });
  afterAll(() => {
    context.disable();
  });

  it('an active span’s ids win over the incoming traceparent', async () => {
    expect(await loadOpenTelemetry()).toBe(true);
    const otelTrace = 'a'.repeat(31) + '1';
    const otelSpan = 'b'.repeat(15) + '2';
    const { logger, lines } = capturingLogger();
    const app = quietFastify(logger);
    await app.register(telltaleFastify);
    app.get('/traced', async () => {
      logger.info('before the span');
      const span = trace.wrapSpanContext({ traceId: otelTrace, spanId: otelSpan, traceFlags: 1 });
      context.with(trace.setSpan(context.active(), span), () => logger.info('inside the span'));
      return 'ok';
    });
    await app.inject({ method: 'GET', url: '/traced', headers });
    await app.close();
    expect(lines.find((l) => l.msg === 'before the span')).toMatchObject({ trace: TRACE, session: 's-123' });
    expect(lines.find((l) => l.msg === 'inside the span')).toMatchObject({
      trace: otelTrace,
      span: otelSpan,
      session: 's-123',
    });
  });
});

describe('traceparent parsing', () => {
  it('accepts the spec’s valid forms and refuses the rest, in linear time on long input', () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({ trace: TRACE, span: PARENT });
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-01-future`)).toEqual({ trace: TRACE, span: PARENT });
    for (const bad of [
      `00-${TRACE}-${PARENT}-01-extra`,
      `ff-${TRACE}-${PARENT}-01`,
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.slice(1)}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}`,
      '',
      undefined,
      `00-${TRACE}-${PARENT}-01-${'x'.repeat(1000)}`,
    ])
      expect(parseTraceparent(bad)).toBeUndefined();
  });
});
