import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { LIMITS } from '@telltale/protocol';
import { ATTACHMENT_ID, type AttachmentStore } from './attachment-store.js';
import {
  MAX_USER_AGENT_LENGTH,
  publicClient,
  refuseStoreFailure,
  registerPreflight,
  type IngestRouteDeps,
} from './batch-route.js';
import { isGzip, measureGzip } from './decode.js';
import { createGuard, refuseQuota, storing } from './guard.js';

const gzip = promisify(gzipCallback);
export const ATTACHMENTS_URL = '/v1/attachments';
const CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+$/;

/**
 * POST /v1/attachments?key=<ingest key>&session=<session id>[&id=<attachment id>][&event=<event id>]
 * (the SDK's `reportBug`): a gzip body, size-limited as sent and once inflated, stored durably in
 * the attachment store before the 202. A retry with the same `id` is answered `duplicate: true`.
 * The ingest key is public, so uploads with it are held to a per-session daily count and, since a
 * sender can invent sessions, to a daily count and bytes per client address; every upload counts
 * against the app's daily attachments and bytes (a secret key skips the per-session and per-address ones).
 */
export function registerAttachmentsRoute(
  app: FastifyInstance,
  deps: IngestRouteDeps & { store: AttachmentStore },
): void {
  const { config, metrics, store } = deps;
  const refuse = deps.guard.refuse;
  const invalid = (reply: Parameters<typeof refuse>[0], field: string, message: string) =>
    refuse(reply, 'attachments', 'TELLTALE_ERR_INVALID_ATTACHMENT', 'invalid_query', { field, message });

  app.route({
    method: 'POST',
    url: ATTACHMENTS_URL,
    bodyLimit: config.limits.maxAttachmentBytes,
    onRequest: createGuard(deps.guard, {
      route: 'attachments',
      kinds: ['ingest', 'secret'],
      checkOrigin: true,
      isFull: () => store.isFull(),
    }),
    handler: async (request, reply) => {
      const auth = deps.guard.auth.get(request);
      if (auth === undefined) return refuse(reply, 'attachments', 'TELLTALE_ERR_UNAUTHORIZED', 'missing_key'); // unreachable
      const query = (request.query ?? {}) as Record<string, unknown>;
      const { session, id, event } = query;
      if (typeof session !== 'string' || session === '' || session.length > LIMITS.maxIdLength)
        return invalid(
          reply,
          'session',
          `?session= must be the session id (1-${LIMITS.maxIdLength} characters)`,
        );
      if (id !== undefined && (typeof id !== 'string' || !ATTACHMENT_ID.test(id)))
        return invalid(reply, 'id', '?id= must be 8-128 characters of A-Z, a-z, 0-9, "_" or "-"');
      if (
        event !== undefined &&
        (typeof event !== 'string' || event === '' || event.length > LIMITS.maxIdLength)
      )
        return invalid(reply, 'event', `?event= must be an event id (1-${LIMITS.maxIdLength} characters)`);

      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      if (body === undefined || body.length === 0)
        return refuse(reply, 'attachments', 'TELLTALE_ERR_INVALID_ATTACHMENT', 'empty_body', {
          message: 'body is empty',
        });
      let gzipped: Buffer;
      let inflatedBytes: number;
      const { maxDecompressedBytes } = config.limits;
      if (auth.encoding === 'gzip' || isGzip(body)) {
        // Only counted, never kept: a bomb is refused at the limit and no inflated copy is stored.
        const measured = await measureGzip(body, maxDecompressedBytes);
        if (!measured.ok)
          return measured.reason === 'too_large'
            ? refuse(reply, 'attachments', 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE', 'decompressed_too_large', {
                limit: maxDecompressedBytes,
              })
            : refuse(reply, 'attachments', 'TELLTALE_ERR_BAD_GZIP', 'bad_gzip');
        gzipped = body;
        inflatedBytes = measured.bytes;
      } else {
        gzipped = await gzip(body);
        inflatedBytes = body.length;
      }

      const rawType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      const userAgent = request.headers['user-agent']?.slice(0, MAX_USER_AGENT_LENGTH);
      const client = publicClient(request, auth.kind);
      const quota = deps.quotas.admitAttachment(auth.app, session, gzipped.length, client);
      if (!quota.ok) return refuseQuota(refuse, reply, 'attachments', quota.refusal);
      try {
        const saved = await storing(
          store.save({
            app: auth.app.id,
            session,
            ...(typeof id === 'string' ? { id } : {}),
            ...(typeof event === 'string' ? { event } : {}),
            body: gzipped,
            inflatedBytes,
            ...(rawType && CONTENT_TYPE.test(rawType) ? { contentType: rawType } : {}),
            ...(userAgent ? { userAgent } : {}),
          }),
        );
        metrics.bytes('attachments', body.length, inflatedBytes);
        // A retried upload counts once.
        if (saved.duplicate) quota.admission.release();
        else metrics.accepted('attachments', auth.app.id, 1);
        return reply.code(202).send({ id: saved.id, duplicate: saved.duplicate });
      } catch (error) {
        quota.admission.release();
        return refuseStoreFailure(deps, request, reply, 'attachments', error);
      }
    },
  });
  registerPreflight(app, ATTACHMENTS_URL);
}
