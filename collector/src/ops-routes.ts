import type { FastifyInstance } from 'fastify';
import type { SpoolWriter } from '@telltale/spool';
import type { AttachmentStore } from './attachment-store.js';
import { renderPrometheus, type CollectorMetrics } from './metrics.js';

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

  if (deps.metricsRoute) {
    app.get('/metrics', async (_request, reply) => {
      const openConnections = deps.openConnections?.();
      const text = renderPrometheus(deps.metrics.snapshot(), {
        spools: Object.fromEntries(Object.entries(deps.spools).map(([name, spool]) => [name, spool.stats()])),
        idempotencyEntries: deps.idempotencyEntries(),
        ...(deps.attachments ? { attachments: deps.attachments.stats() } : {}),
        ...(openConnections !== undefined ? { openConnections } : {}),
      });
      return reply.type('text/plain; version=0.0.4').send(text);
    });
  }
}
