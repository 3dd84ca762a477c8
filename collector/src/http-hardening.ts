import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { CollectorConfig } from './config.js';
import type { CollectorMetrics } from './metrics.js';
import { trustedPeerMatcher } from './trust-proxy.js';

interface ConnectionTracker {
  open: number;
}

const trackers = new WeakMap<Server, ConnectionTracker>();

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
  // Fastify answers these (408 for slow clients, 431, 400); this only counts them by reason.
  server.on('clientError', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNRESET') return;
    metrics?.clientError(
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'timeout'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? 'header_overflow'
          : 'bad_request',
    );
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
