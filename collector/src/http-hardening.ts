import {
  maxHeaderSize,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorBody, type ErrorBody } from '@telltale/protocol';
import type { CollectorConfig } from './config.js';
import type { CollectorMetrics } from './metrics.js';
import { trustedPeerMatcher } from './trust-proxy.js';

interface ConnectionTracker {
  open: number;
}

const trackers = new WeakMap<Server, ConnectionTracker>();
/**
 * Connections whose request was answered before its body had all arrived (an early 401 or 413):
 * if that body then stalls into a request timeout, the client already has its answer, and a 408
 * written after it would be read as garbage following the response (Node forgets the response once
 * it is sent, so the socket cannot tell). HTTP/1.1 starts no next request before this one's body.
 */
const answeredEarly = new WeakSet<Duplex>();

/** Open connections on a server hardened by hardenHttpServer, or undefined for any other server. */
export const openConnections = (server: Server): number | undefined => trackers.get(server)?.open;

/**
 * Slow clients and connection floods: headers must arrive within `timeouts.headersMs` and the
 * whole request within `timeouts.requestMs` (408 and close otherwise; checked every second), idle
 * keep-alive connections close, at most `connections.max` are open, and one address holds at most
 * `connections.perIp` of them, so a slowloris from one host cannot take every slot. Connections
 * from a listed trusted proxy carry many clients and are not capped per address; with a hop count
 * any peer may be the proxy, so the per-address cap is off.
 * Call before listen(); calling twice on one server does nothing.
 */
export function hardenHttpServer(server: Server, config: CollectorConfig, metrics?: CollectorMetrics): void {
  if (trackers.has(server) || typeof server?.on !== 'function') return;
  const { timeouts, connections } = config;
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  // Read when the server starts listening; Node's default (30 s) would let expired requests linger.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(
    1000,
    timeouts.headersMs,
  );
  server.maxConnections = connections.max;

  const tracker: ConnectionTracker = { open: 0 };
  trackers.set(server, tracker);
  const perIp = typeof config.trustProxy === 'function' ? 0 : connections.perIp;
  const isTrustedProxy = trustedPeerMatcher(config.trustProxy);
  const byAddress = new Map<string, number>();
  // clientErrorHandler answers these (408 for slow clients, 431, 400); this only counts them by reason.
  server.on('clientError', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNRESET') return;
    metrics?.clientError(clientErrorKind(error).reason);
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    response.once('finish', () => {
      if (!request.complete) answeredEarly.add(request.socket);
    });
  });
  server.on('connection', (socket: Socket) => {
    tracker.open += 1;
    const address = socket.remoteAddress ?? '';
    const count = (byAddress.get(address) ?? 0) + 1;
    byAddress.set(address, count);
    socket.once('close', () => {
      tracker.open -= 1;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left <= 0) byAddress.delete(address);
      else byAddress.set(address, left);
    });
    if (perIp > 0 && count > perIp && !isTrustedProxy?.(address)) {
      metrics?.connectionRefused();
      socket.destroy();
    }
  });
}

/** What the HTTP parser refused: the metric's reason label and the answer, from one table. */
function clientErrorKind(error: NodeJS.ErrnoException): { reason: string; status: number; body: ErrorBody } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { reason: 'timeout', status: 408, body: errorBody('TELLTALE_ERR_REQUEST_TIMEOUT') };
  if (error.code === 'HPE_HEADER_OVERFLOW')
    return {
      reason: 'header_overflow',
      status: 431,
      body: errorBody('TELLTALE_ERR_HEADERS_TOO_LARGE', { limit: maxHeaderSize }),
    };
  return { reason: 'bad_request', status: 400, body: errorBody('TELLTALE_ERR_BAD_REQUEST') };
}

/**
 * fastify's `clientErrorHandler` (every listener of ours): what Node's HTTP parser refuses before
 * any route runs — headers over the size limit, a request that took too long, bytes that are not
 * HTTP — gets Telltale's JSON error body (a code from the registry, the limit where there is one)
 * instead of fastify's own shape, and the connection is closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection is gone already: nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, body } = clientErrorKind(error);
  const text = JSON.stringify(body);
  // A response begun or sent on this connection (a pipelined request's answer streaming; an early
  // 401 while the body still arrives, see answeredEarly) must not get an answer appended: just close.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true && !answeredEarly.has(socket))
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  socket.destroy(error);
}
