import { contextFromHeaders, runWithContext } from './context.js';
import { flushBeforeResponse, writeRequestLine, type RequestLineOptions } from './request-line.js';

export type TelltaleExpressOptions = RequestLineOptions;

/** The slices of express's request and response the middleware reads (typed here: express is optional). */
interface ExpressRequest {
  method: string;
  headers: Record<string, unknown>;
  baseUrl?: string;
  route?: { path?: unknown };
}
interface ExpressResponse {
  statusCode: number;
  once(event: 'finish' | 'close', listener: () => void): unknown;
  writeHead: (...args: never[]) => unknown;
}

/**
 * Express middleware: `app.use(telltaleExpress({ logger }))`, before the routes. Each request runs
 * in its own context (see the fastify plugin); the request line names the matched route's pattern
 * (`/orders/:id`), or `(unmatched)`.
 */
export function telltaleExpress(
  options: TelltaleExpressOptions = {},
): (req: ExpressRequest, res: ExpressResponse, next: (error?: unknown) => void) => void {
  const { logger } = options;
  const lines = options.requestLine !== false && logger !== undefined;
  return (req, res, next) => {
    const startedAt = process.hrtime.bigint();
    const context = contextFromHeaders(req.headers);
    if (lines) {
      let written = false;
      const write = (): void => {
        if (written) return;
        written = true;
        const pattern =
          typeof req.route?.path === 'string' ? `${req.baseUrl ?? ''}${req.route.path}` : undefined;
        // Written inside the request's context, so the line carries its trace too.
        runWithContext(context, () =>
          writeRequestLine(logger, { method: req.method, route: pattern, status: res.statusCode, startedAt }),
        );
      };
      res.once('finish', write);
      res.once('close', write);
    }
    if (logger !== undefined) {
      // Node's http sends every response's headers through writeHead (res.end calls it too): the lines
      // this request logged reach the journal before the response leaves.
      const writeHead = res.writeHead;
      res.writeHead = function (this: unknown, ...args: never[]) {
        flushBeforeResponse(logger);
        return writeHead.apply(this, args);
      };
    }
    runWithContext(context, next);
  };
}
