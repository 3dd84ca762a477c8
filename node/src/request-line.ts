import pino from 'pino';

/** Marks a stream whose lines wait for the end of the turn (telltaleDestination): flushed before a response. */
export const FLUSH_BEFORE_RESPONSE = Symbol.for('@telltale/node.flushBeforeResponse');

/**
 * Writes the lines a pino logger's Telltale destination holds for this turn, so a response never
 * leaves before the lines its handler logged are in the journal (safe from a kill -9). One write(2)
 * per response at most; nothing for other streams (pino.transport, files), which have their own rules.
 */
export function flushBeforeResponse(logger: unknown): void {
  if (typeof logger !== 'object' || logger === null) return;
  const stream = (logger as Record<symbol, unknown>)[pino.symbols.streamSym] as
    { [FLUSH_BEFORE_RESPONSE]?: () => void } | undefined;
  stream?.[FLUSH_BEFORE_RESPONSE]?.();
}

/** The slice of a pino logger the middleware writes its request line to. */
export interface RequestLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RequestLineOptions {
  /** Where the one line per request goes; the fastify plugin defaults to `fastify.log`. */
  logger?: RequestLogger;
  /** false: no request line (the context is still kept). Default true. */
  requestLine?: boolean;
}

// A route pattern is the app's own text, but bounded anyway: it lands in every request line.
const MAX_ROUTE = 200;

/**
 * One line per request: method, route pattern (never the raw URL, so no query string or ids in the
 * path), status and duration. 5xx is an error, 4xx a warning, the rest info.
 */
export function writeRequestLine(
  logger: RequestLogger,
  request: { method: string; route: string | undefined; status: number; startedAt: bigint },
): void {
  const durationMs = Number(process.hrtime.bigint() - request.startedAt) / 1e6;
  const line = {
    method: request.method.slice(0, 16),
    route: (request.route ?? '(unmatched)').slice(0, MAX_ROUTE),
    status: request.status,
    durationMs: Math.round(durationMs * 1000) / 1000,
  };
  const msg = `${line.method} ${line.route} ${line.status}`;
  if (request.status >= 500) logger.error(line, msg);
  else if (request.status >= 400) logger.warn(line, msg);
  else logger.info(line, msg);
}
