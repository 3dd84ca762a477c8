import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { contextFromHeaders, runWithContext, type RequestContext } from './context.js';
import { loadOpenTelemetry } from './otel.js';
import { flushBeforeResponse, writeRequestLine, type RequestLineOptions } from './request-line.js';

export type TelltaleFastifyOptions = RequestLineOptions;

const requests = new WeakMap<object, { context: RequestContext; startedAt: bigint }>();

/**
 * Fastify plugin: `app.register(telltaleFastify)`. Each request runs in its own context (trace, span,
 * session, user), so lines written through a logger made with `telltaleMixin` carry them, and one
 * request line is written when the response is sent. Not encapsulated (like fastify-plugin), so it
 * covers every route of the app that registers it.
 */
const plugin: FastifyPluginCallback<TelltaleFastifyOptions> = (
  fastify: FastifyInstance,
  options: TelltaleFastifyOptions,
  done: (error?: Error) => void,
) => {
  const logger = options.logger ?? fastify.log;
  fastify.addHook('onRequest', (request, _reply, next) => {
    const context = contextFromHeaders(request.headers);
    requests.set(request, { context, startedAt: process.hrtime.bigint() });
    // `next` inside run(): every later hook and the handler see this request's context.
    runWithContext(context, next);
  });
  // The lines this request logged reach the journal before its response leaves (onSend runs just before).
  fastify.addHook('onSend', (request, _reply, payload, next) => {
    flushBeforeResponse(request.log);
    if (logger !== fastify.log) flushBeforeResponse(logger);
    next(null, payload);
  });
  if (options.requestLine !== false)
    fastify.addHook('onResponse', (request, reply, next) => {
      const seen = requests.get(request);
      const line = {
        method: request.method,
        route: request.routeOptions.url,
        status: reply.statusCode,
        startedAt: seen?.startedAt ?? process.hrtime.bigint(),
      };
      // onResponse runs from the socket's 'finish', outside the request's async chain: enter it again.
      if (seen) runWithContext(seen.context, () => writeRequestLine(logger, line));
      else writeRequestLine(logger, line);
      next();
    });
  // Where the app has @opentelemetry/api, it is loaded before the first request.
  loadOpenTelemetry().then(() => done(), done);
};

// What fastify-plugin sets: the hooks apply to the whole app, not only to a child context.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@telltale/node',
  [Symbol.for('plugin-meta')]: { name: '@telltale/node', fastify: '5.x' },
});

export const telltaleFastify = plugin;
