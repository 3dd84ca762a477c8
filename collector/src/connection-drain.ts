import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyServerFactory } from 'fastify';

/** How long requests in flight at shutdown may still take before their connections are cut. */
export const REQUEST_GRACE_MS = 10_000;

export interface ConnectionDrain {
  /** For `Fastify({ serverFactory })`: fastify's own HTTP/1 server, its connections tracked (every binding). */
  serverFactory: FastifyServerFactory;
  /** Tracks a server made elsewhere (the second listener); call it before it listens. */
  track(server: Server): void;
  /**
   * Closes every connection with no request in flight now, each other one as soon as its last
   * response went out, and all of them after `graceMs`. Call it with (or before) server.close().
   */
  drain(): void;
}

/**
 * Node's server.close() waits for every connection to end, and closes idle keep-alive ones only at
 * the moment it is called. A connection busy then (its response still says keep-alive) or one a
 * client opened and has not used yet stays open until the client hangs up: a browser tab or an
 * undici pool keeps it for a minute or more, and shutdown waits that long.
 */
export function connectionDrain(graceMs: number = REQUEST_GRACE_MS): ConnectionDrain {
  // Every open connection and the requests in flight on it.
  const connections = new Map<Socket, number>();
  let draining = false;
  const closeIfIdle = (socket: Socket): void => {
    if (connections.get(socket) === 0) socket.destroy();
  };
  const track = (server: Server): void => {
    server.on('connection', (socket: Socket) => {
      connections.set(socket, 0);
      socket.once('close', () => connections.delete(socket));
      if (draining) closeIfIdle(socket);
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket;
      if (!connections.has(socket)) return;
      connections.set(socket, (connections.get(socket) ?? 0) + 1);
      response.once('close', () => {
        const inFlight = connections.get(socket);
        if (inFlight === undefined) return;
        connections.set(socket, inFlight - 1);
        if (draining) closeIfIdle(socket);
      });
    });
  };
  return {
    // The same server fastify makes itself (lib/server.js, HTTP/1 without TLS), with its timeouts.
    serverFactory: (handler, options) => {
      const server = createServer(handler);
      const { keepAliveTimeout, requestTimeout, connectionTimeout } = options;
      if (typeof keepAliveTimeout === 'number') server.keepAliveTimeout = keepAliveTimeout;
      if (typeof requestTimeout === 'number') server.requestTimeout = requestTimeout;
      server.setTimeout(typeof connectionTimeout === 'number' ? connectionTimeout : 0);
      track(server);
      return server;
    },
    track,
    drain() {
      if (draining) return;
      draining = true;
      for (const socket of connections.keys()) closeIfIdle(socket);
      setTimeout(() => {
        for (const socket of connections.keys()) socket.destroy();
      }, graceMs).unref();
    },
  };
}

/** Stops a plain server listening; resolves once its connections are gone (see connectionDrain). */
export function closeListener(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
