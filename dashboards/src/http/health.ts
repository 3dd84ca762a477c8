import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { viewerOf } from '../auth/access-hook.js';
import type { DashboardsPluginOptions } from '../plugin.js';
import { healthBanner, healthPage, HEALTH_PATH } from '../views/health.js';
import { HEALTH_SLOT, messagePage } from '../views/layout.js';
import { failingParts, HEALTH_BANNER_AFTER_MS, type PipelineHealth } from './health-types.js';
import { sendPage } from './pages.js';
import { acceptForms, crossSiteReason } from './same-site.js';

/** Consumer names as the dispatchers make them: `duckdb`, `clickhouse.server`, `alerts.blob`. */
const consumerParamsSchema = {
  type: 'object',
  required: ['consumer'],
  properties: { consumer: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' } },
} as const;

const replayQuerySchema = {
  type: 'object',
  properties: {
    consumer: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' },
    replayed: { type: 'integer', minimum: 0 },
    left: { type: 'integer', minimum: 0 },
  },
} as const;

interface ReplayQuery {
  consumer?: string;
  replayed?: number;
  left?: number;
}

/** The figures, or undefined when the dashboards run without the dispatchers (or they fail to answer). */
export async function readHealth(
  options: DashboardsPluginOptions,
  request: FastifyRequest,
): Promise<PipelineHealth | undefined> {
  if (options.health === undefined) return undefined;
  try {
    return await options.health();
  } catch (error) {
    request.log.warn({ err: error }, 'pipeline health figures failed');
    return undefined;
  }
}

/**
 * The red banner on every page (layout.ts leaves HEALTH_SLOT): registered on the plugin's scope,
 * so it fills the slot of every HTML page the dashboards send.
 */
export function registerHealthBanner(app: FastifyInstance, options: DashboardsPluginOptions): void {
  const afterMs = options.healthBannerAfterMs ?? HEALTH_BANNER_AFTER_MS;
  app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload !== 'string' || !payload.includes(HEALTH_SLOT)) return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
    const health = await readHealth(options, request);
    const parts = health === undefined ? [] : failingParts(health, afterMs);
    const banner = parts.length === 0 ? '' : healthBanner(parts, health!.at).value;
    return payload.replace(HEALTH_SLOT, () => banner);
  });
}

/** GET /health, and the admins' replay of a consumer's dead letters (a same-site form, then a redirect). */
export async function healthRoutes(app: FastifyInstance, options: DashboardsPluginOptions): Promise<void> {
  const site = options.title ?? 'Telltale';
  const { replayDeadLetters } = options;
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined)
      return sendPage(reply, messagePage(site, 'Bad request', `Invalid request: ${error.message}`), 400);
    request.log.error({ err: error }, 'health page failed');
    return sendPage(
      reply,
      messagePage(site, 'Something went wrong', 'The page could not be built; see the server log.'),
      500,
    );
  });
  // Admins see the replay buttons; without sign-in (no access hook) everyone is one.
  const canReplay = (request: FastifyRequest): boolean =>
    replayDeadLetters !== undefined && (viewerOf(request)?.role ?? 'admin') === 'admin';

  app.get<{ Querystring: ReplayQuery }>(
    HEALTH_PATH,
    { schema: { querystring: replayQuerySchema } },
    async (request, reply) => {
      const { consumer, replayed, left } = request.query;
      const outcome =
        consumer !== undefined && replayed !== undefined && left !== undefined
          ? { consumer, replayed, left }
          : undefined;
      const health = await readHealth(options, request);
      return sendPage(reply, healthPage(site, health, { canReplay: canReplay(request), replayed: outcome }));
    },
  );

  if (replayDeadLetters === undefined) return;
  acceptForms(app);
  app.post<{ Params: { consumer: string } }>(
    `${HEALTH_PATH}/dead-letters/:consumer/replay`,
    { schema: { params: consumerParamsSchema } },
    async (request, reply): Promise<FastifyReply> => {
      const reason = crossSiteReason(request);
      if (reason !== undefined)
        return sendPage(reply, messagePage(site, 'Refused', `This change was refused: ${reason}.`), 403);
      const { consumer } = request.params;
      const result = await replayDeadLetters(consumer);
      request.log.info({ consumer, replayed: result.replayed, left: result.left }, 'dead letters replayed');
      const query = new URLSearchParams({
        consumer,
        replayed: String(result.replayed),
        left: String(result.left),
      });
      return reply.redirect(`${HEALTH_PATH}?${query.toString()}`, 303);
    },
  );
}
