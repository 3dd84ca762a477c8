import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import {
  currentContext,
  telltaleDestination,
  telltaleFastify,
  telltaleMixin,
  type TelltaleDestination,
} from '@telltale/node';

const sdkRoot = path.dirname(createRequire(import.meta.url).resolve('@telltale/browser-sdk/package.json'));

const script = 'text/javascript; charset=utf-8';
const DEMO_ASSETS: Record<string, { file: string; type: string }> = {
  '/demo/demo.js': { file: 'demo/demo.js', type: script },
  '/demo/demo.css': { file: 'demo/demo.css', type: 'text/css; charset=utf-8' },
};
const SDK_ASSETS: Record<string, { file: string; type: string }> = {
  // The SDK and the files it loads on demand: fflate where CompressionStream is missing, the add-ons.
  ...Object.fromEntries(
    [
      'telltale.min.js',
      'index.js',
      'gzip.js',
      'telltale-bug.js',
      'telltale-trace.js',
      'report-bug.js',
      'traceparent.js',
    ].map((name) => [`/sdk/${name}`, { file: `dist/${name}`, type: script }]),
  ),
};

// The demo runs under the CSP we ask of our users: no inline script, no eval.
const DEMO_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'";

const escapeAttribute = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The demo shop's own API, served by this process: what a customer's server looks like to Telltale. */
export const DEMO_API_PREFIX = '/demo/api';
/** The `service` of the demo API's log lines. */
export const DEMO_SERVICE = 'demo-api';

/** Where this process answers /v1/logs, for the demo API's destination: its own listener, on loopback when bound to all. */
function ownEndpoint(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo | null;
  if (address === null) throw new Error('demo api: the server is not listening yet');
  const host = ['0.0.0.0', '::'].includes(address.address) ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/**
 * POST /demo/api/checkout through @telltale/node's fastify plugin, with a pino logger of its own
 * writing to telltaleDestination (the documented default, docs/server-logs.md): each line on disk
 * in the buffer dir once its code yields (and before the response leaves), then shipped to this
 * process's /v1/logs with the demo app's secret key, as a customer's API would.
 * Checkout always fails here (502), so the page throws and the error's timeline shows both sides.
 */
async function registerDemoApi(app: FastifyInstance, options: { secretKey: string; bufferDir: string }) {
  let logger: Logger | undefined;
  let destination: TelltaleDestination | undefined;
  // The port is known once the server listens; kept, since a request still in flight at shutdown
  // runs after the listener closed, when the server has no address any more.
  let endpoint: string | undefined;
  app.addHook('onListen', async () => {
    endpoint ??= ownEndpoint(app);
  });
  // Made on first use, once the server listens.
  const log = (): Logger => {
    if (logger === undefined) {
      destination = telltaleDestination({
        endpoint: endpoint ?? ownEndpoint(app),
        key: options.secretKey,
        dir: options.bufferDir,
        service: DEMO_SERVICE,
        release: 'demo-api-1.0.0',
        environment: 'demo',
      });
      logger = pino({ mixin: telltaleMixin }, destination);
    }
    return logger;
  };
  const requestLogger = {
    info: (obj: object, msg: string) => log().info(obj, msg),
    warn: (obj: object, msg: string) => log().warn(obj, msg),
    error: (obj: object, msg: string) => log().error(obj, msg),
  };
  await app.register(
    async (api) => {
      await api.register(telltaleFastify, { logger: requestLogger });
      api.post('/checkout', async (_request, reply) => {
        log().info({ items: 3, totalCents: 4200 }, 'checkout: charging the card');
        log().error(
          { provider: 'demo-pay', code: 'card_declined' },
          'checkout: payment provider declined the card',
        );
        // The trace id this request ran under, so the page can link to its timeline.
        return reply.code(502).send({ error: 'payment_declined', trace: currentContext()?.trace ?? null });
      });
    },
    { prefix: DEMO_API_PREFIX },
  );
  // Lines not shipped yet stay in the buffer dir and ship at the next start (local-first). Bounded:
  // a shipment in flight goes to this very server, which is closing, and must not hold shutdown.
  app.addHook('onClose', async () => {
    if (destination === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      destination.close(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 3_000).unref())),
    ]);
    clearTimeout(timer);
  });
}

/**
 * The SDK bundle under `/sdk/*` (apps load it from here), and, when the demo app is on, the demo
 * page (`/demo`) wired to its ingest key, and its API (`/demo/api/*`). Without a key `/demo` is not
 * registered: a 404.
 */
export async function registerDemoRoutes(
  app: FastifyInstance,
  options: { ingestKey: string | undefined; secretKey?: string | undefined; bufferDir?: string },
): Promise<void> {
  for (const [route, asset] of Object.entries(SDK_ASSETS)) serveAsset(app, route, asset);
  if (options.ingestKey === undefined) return;
  if (options.secretKey !== undefined && options.bufferDir !== undefined)
    await registerDemoApi(app, { secretKey: options.secretKey, bufferDir: options.bufferDir });
  const template = await readFile(path.join(sdkRoot, 'demo/index.html'), 'utf8');
  const page = template
    .replaceAll('%TELLTALE_KEY%', escapeAttribute(options.ingestKey))
    .replaceAll('%TELLTALE_ENDPOINT%', '');

  app.get('/demo', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('Content-Security-Policy', DEMO_CSP).send(page),
  );
  for (const [route, asset] of Object.entries(DEMO_ASSETS)) serveAsset(app, route, asset);
}

function serveAsset(app: FastifyInstance, route: string, asset: { file: string; type: string }): void {
  app.get(route, async (_request, reply) => {
    const body = await readFile(path.join(sdkRoot, asset.file));
    return reply.type(asset.type).header('Cache-Control', 'no-cache').send(body);
  });
}
