import type { FastifyServerOptions } from 'fastify';
import type { AuthOptions } from '@telltale/dashboards';
import type { AccessConfig, LogLevel } from '../config.js';

/** Pieces every Telltale process composes the same way: `telltale start` and each role. */

/**
 * A request's URL as a log line may show it. Ingest keys travel in query strings (beacons cannot
 * set headers), so the query goes; the first-start link carries its token in the path, so that path
 * is logged as `/login/token/[redacted]` however it is spelled (`%74oken`, `//login`).
 */
export function redactedUrl(url: string): string {
  const path = url.split('?')[0] ?? url;
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Not valid percent-encoding: the raw path is checked as it is.
  }
  return /\/login\/+token\/+[^/]/i.test(decoded) ? '/login/token/[redacted]' : path;
}

/** Fastify's logger: pino at `level`, request URLs through `redactedUrl`; false turns it off (tests). */
export function loggerOptions(level: LogLevel, enabled: boolean | undefined): FastifyServerOptions['logger'] {
  if (enabled === false) return false;
  return {
    level,
    serializers: {
      req: (request: { method: string; url: string }) => ({
        method: request.method,
        url: redactedUrl(request.url),
      }),
    },
  };
}

/** What `registerAuth` needs from the access settings (docs/security.md), the same in every process. */
export function authOptions(dataDir: string, access: AccessConfig, dashboardUrl: string): AuthOptions {
  return {
    dataDir,
    apiToken: access.apiToken,
    publicUrl: access.publicUrl,
    session: { idleMs: access.sessionIdleMs, maxAgeMs: access.sessionMaxAgeMs },
    oidc: access.oidc && { ...access.oidc, redirectUrl: `${dashboardUrl}/auth/oidc/callback` },
  };
}

/** A wildcard listen address is no address to give a browser: loopback is, and the Host allow-list takes it. */
export const listenName = (host: string): string =>
  host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
