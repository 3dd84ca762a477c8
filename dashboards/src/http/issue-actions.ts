import { errorBody, LIMITS } from '@telltale/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { issueStatus, type GroupStateRecord, type IssueServices, type IssueStatus } from '../issues.js';
import type { DashboardStore } from '../store.js';
import { crossSiteReason } from './same-site.js';
import {
  groupActionParamsSchema,
  ruleParamsSchema,
  type GroupAction,
  type GroupActionBody,
} from './schemas.js';

/** Resolve, ignore or reopen the group `id` (in `app` when several apps share it); undefined when there is no such group. */
export async function applyGroupAction(
  store: DashboardStore,
  issues: IssueServices,
  id: string,
  action: GroupAction,
  body: GroupActionBody,
): Promise<{ state: GroupStateRecord; status: IssueStatus } | undefined> {
  const detail = await store.errorGroup(id, body.app === '' ? undefined : body.app);
  if (detail === undefined) return undefined;
  const { app, fingerprint, releases, firstSeen } = detail.group;
  const release = body.release?.trim() === '' ? undefined : body.release?.trim();
  const state =
    action === 'resolve'
      ? await issues.resolve(app, fingerprint, { release, knownReleases: releases })
      : action === 'ignore'
        ? await issues.ignore(app, fingerprint)
        : await issues.reopen(app, fingerprint);
  return { state, status: issueStatus(state, firstSeen, Date.now()) };
}

/** Problems with `{"app"?, "release"?}`; undefined when it is fine. */
export function checkGroupActionBody(body: unknown): { field: string; message: string } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return {
      field: '',
      message: 'the body is optional; when sent it is {"app"?: string, "release"?: string}',
    };
  for (const [field, value] of Object.entries(body)) {
    if (field !== 'app' && field !== 'release')
      return { field, message: `unknown field ${field}; use app or release` };
    if (typeof value !== 'string' || value.length > LIMITS.maxIdLength)
      return { field, message: `${field} must be a string of at most ${LIMITS.maxIdLength} characters` };
  }
  return undefined;
}

/** Refuses a forged cross-site request; answers nothing (undefined) when it may go on. */
export function refuseCrossSite(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  const reason = crossSiteReason(request);
  if (reason === undefined) return undefined;
  return reply.code(403).send(
    errorBody('TELLTALE_ERR_CROSS_SITE', {
      message: `refused: ${reason}; change things from the dashboard or the CLI`,
    }),
  );
}

/**
 * The JSON API for the lifecycle and the mute rules:
 *   POST   /api/errors/:id/resolve|ignore|reopen   {"app"?, "release"?}
 *   GET    /api/mute-rules
 *   POST   /api/mute-rules                         {"message"?, "type"?, "browser"?, "url"?, "release"?, "environment"?, "app"?, "note"?}
 *   DELETE /api/mute-rules/:id
 */
export async function issueApiRoutes(
  app: FastifyInstance,
  options: { store: DashboardStore; issues: IssueServices },
): Promise<void> {
  const { store, issues } = options;

  app.post<{ Params: { id: string; action: GroupAction }; Body: unknown }>(
    '/api/errors/:id/:action',
    { schema: { params: groupActionParamsSchema } },
    async (request, reply) => {
      if (refuseCrossSite(request, reply) !== undefined) return reply;
      // The body is optional (`curl -X POST …/resolve` works), so it is checked here rather than by a schema.
      const body = request.body ?? {};
      const problem = checkGroupActionBody(body);
      if (problem !== undefined)
        return reply.code(400).send(errorBody('TELLTALE_ERR_INVALID_QUERY', problem));
      const done = await applyGroupAction(
        store,
        issues,
        request.params.id,
        request.params.action,
        body as GroupActionBody,
      );
      if (done === undefined)
        return reply
          .code(404)
          .send(
            errorBody('TELLTALE_ERR_NOT_FOUND', { message: `no error group with id ${request.params.id}` }),
          );
      return done;
    },
  );

  app.get('/api/mute-rules', async () => ({ rules: await issues.muteRules() }));

  app.post<{ Body: unknown }>('/api/mute-rules', async (request, reply) => {
    if (refuseCrossSite(request, reply) !== undefined) return reply;
    const result = await issues.addMuteRule(request.body ?? {});
    if (!result.ok)
      return reply
        .code(400)
        .send(errorBody('TELLTALE_ERR_INVALID_RULE', { field: result.field, message: result.message }));
    return reply.code(201).send({ rule: result.rule });
  });

  app.delete<{ Params: { id: string } }>(
    '/api/mute-rules/:id',
    { schema: { params: ruleParamsSchema } },
    async (request, reply) => {
      if (refuseCrossSite(request, reply) !== undefined) return reply;
      if (!(await issues.removeMuteRule(request.params.id)))
        return reply
          .code(404)
          .send(
            errorBody('TELLTALE_ERR_NOT_FOUND', { message: `no mute rule with id ${request.params.id}` }),
          );
      return reply.code(204).send();
    },
  );
}
