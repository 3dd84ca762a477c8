import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '@telltale/protocol';
import type { SpoolWriter } from '@telltale/spool';
import type { AttachmentStore } from './attachment-store.js';
import { renderMetrics, type CollectorMetrics } from './metrics.js';

export interface OpsDeps {
  spools: Record<string, SpoolWriter>;
  attachments?: AttachmentStore;
  metrics: CollectorMetrics;
  idempotencyEntries: () => number;
  openConnections?: () => number | undefined;
  /** True once shutdown began: a load balancer should stop sending. */
  draining: () => boolean;
  metricsRoute: boolean;
}

/** Why the collector should not get traffic right now; [] when it should. */
export function notReadyReasons(deps: Pick<OpsDeps, 'spools' | 'draining'>): string[] {
  const reasons: string[] = [];
  if (deps.draining()) reasons.push('shutting down');
  for (const [name, spool] of Object.entries(deps.spools)) {
    const stats = spool.stats();
    if (!stats.writable) reasons.push(`${name} spool: last write failed`);
    if (spool.isFull()) reasons.push(`${name} spool: at its disk cap of ${stats.maxTotalBytes} bytes`);
  }
  // A full attachment store refuses attachments only; batches and logs still go through, so it stays ready.
  return reasons;
}

/** /healthz (the process answers), /readyz (it can take data), /metrics (Prometheus text). */
export function registerOpsRoutes(app: FastifyInstance, deps: OpsDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const reasons = notReadyReasons(deps);
    return reasons.length === 0
      ? reply.send({ status: 'ready' })
      : reply.code(503).send({ status: 'not ready', reasons });
  });

  // Read at scrape time; registered even without the route, so a process serving the registry elsewhere sees them.
  deps.metrics.readGauges(() => {
    const openConnections = deps.openConnections?.();
    return {
      spools: Object.fromEntries(Object.entries(deps.spools).map(([name, spool]) => [name, spool.stats()])),
      idempotencyEntries: deps.idempotencyEntries(),
      ...(deps.attachments ? { attachments: deps.attachments.stats() } : {}),
      ...(openConnections !== undefined ? { openConnections } : {}),
    };
  });
  if (deps.metricsRoute) {
    app.get('/metrics', async (_request, reply) =>
      reply.type(deps.metrics.registry.contentType).send(await renderMetrics(deps.metrics.registry)),
    );
  }
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * The standalone collector's `/metrics` answers only `Authorization: Bearer <TELLTALE_API_TOKEN>`;
 * with no token configured it refuses everyone and says which setting opens it.
 */
export function requireMetricsToken(app: FastifyInstance, token: string | undefined): void {
  const expected = token === undefined ? undefined : sha256(token);
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== '/metrics') return;
    const given = /^Bearer ([\w.~+/=-]{1,512})$/i.exec(request.headers.authorization ?? '')?.[1];
    if (expected !== undefined && given !== undefined && timingSafeEqual(sha256(given), expected)) return;
    return reply.code(401).send(
      errorBody('TELLTALE_ERR_UNAUTHENTICATED', {
        message:
          expected === undefined
            ? '/metrics is closed: set TELLTALE_API_TOKEN on the collector and send it as Authorization: Bearer'
            : 'send TELLTALE_API_TOKEN as Authorization: Bearer',
      }),
    );
  });
}
