import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { errorBody } from '@telltale/protocol';
import { isLoopbackHost } from '../config.js';
import { clientErrorHandler, connectionDrain } from './shutdown.js';

/** prom-client's process metrics (CPU, memory, event-loop lag, GC) in a registry of this process's own. */
export function processRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'telltale_' });
  return registry;
}

/** Prometheus text of several registries (a role's own and its process metrics), one scrape. */
export async function renderRegistries(registries: readonly Registry[]): Promise<string> {
  // Concatenated, not Registry.merge: two registries may both hold a metric family of one name's prefix.
  const texts = await Promise.all(registries.map((registry) => registry.metrics()));
  return texts.map((text) => text.trimEnd()).join('\n') + '\n';
}

export interface OpsListenerOptions {
  host: string;
  port: number;
  /** `TELLTALE_API_TOKEN`: /metrics then needs `Authorization: Bearer <it>`. */
  apiToken: string | undefined;
  /** Why this process should get no work now; [] when ready. Shown only to a caller with the token. */
  notReady: () => string[] | Promise<string[]>;
  metrics: () => Promise<string>;
  /** Extra fields of the /readyz body (e.g. the dispatcher's backlog per consumer). */
  detail?: () => Promise<Record<string, unknown>>;
}

export interface OpsListener {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** True when the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer ([\w.~+/=-]{1,512})$/i.exec(header ?? '')?.[1];
  return given !== undefined && timingSafeEqual(sha256(given), sha256(token));
}

/**
 * /metrics without a token: only when the configured host itself is loopback. Decided on the raw
 * value, never on listenName's browser-facing rewrite (which maps 0.0.0.0 and :: to 127.0.0.1).
 */
export const metricsOpenWithoutToken = (host: string, apiToken: string | undefined): boolean =>
  apiToken === undefined && isLoopbackHost(host);

/**
 * A /readyz answer. Probes need only the status code; the reasons and detail (consumer names,
 * backlog, a store's address and error) go to a caller with the token, since /readyz is open.
 */
export function readyAnswer(
  reasons: readonly string[],
  trusted: boolean,
  detail: Record<string, unknown> = {},
): { code: 200 | 503; body: Record<string, unknown> } {
  const ready = reasons.length === 0;
  const status = ready ? 'ready' : 'not ready';
  if (!trusted) return { code: ready ? 200 : 503, body: { status, ready } };
  return {
    code: ready ? 200 : 503,
    body: ready ? { status, ready, ...detail } : { status, ready, reasons, ...detail },
  };
}

/**
 * `/healthz` (the process answers), `/readyz` (it can do its work), `/metrics` (Prometheus) for a
 * process that serves nothing else. /metrics: the token when one is set; open without one only on
 * a loopback host, since the counters name apps and sinks.
 */
export async function startOpsListener(options: OpsListenerOptions): Promise<OpsListener> {
  // A Prometheus scraper keeps its connection alive: shutdown must not wait for it (connectionDrain).
  const connections = connectionDrain();
  const app = Fastify({ logger: false, serverFactory: connections.serverFactory, clientErrorHandler });
  const { apiToken } = options;
  const open = metricsOpenWithoutToken(options.host, apiToken);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    const trusted =
      open || (apiToken !== undefined && bearerMatches(request.headers.authorization, apiToken));
    const reasons = await options.notReady();
    const answer = readyAnswer(reasons, trusted, trusted ? ((await options.detail?.()) ?? {}) : {});
    return reply.code(answer.code).send(answer.body);
  });
  app.get('/metrics', async (request, reply) => {
    if (!open && (apiToken === undefined || !bearerMatches(request.headers.authorization, apiToken)))
      return reply.code(401).send(
        errorBody('TELLTALE_ERR_UNAUTHENTICATED', {
          message:
            apiToken === undefined
              ? `/metrics on ${options.host} is closed: set TELLTALE_API_TOKEN and send it as Authorization: Bearer`
              : 'send TELLTALE_API_TOKEN as Authorization: Bearer',
        }),
      );
    return reply.type('text/plain; version=0.0.4').send(await options.metrics());
  });
  const address = await app.listen({ host: options.host, port: options.port });
  return {
    url: address.replace('[::1]', '127.0.0.1'),
    app,
    close: () => {
      connections.drain();
      return app.close();
    },
  };
}
