import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Why a state-changing request must be refused: it came from another site's page (a forged form
 * post). Browsers say so in `Sec-Fetch-Site` and `Origin`; the CLI and scripts send neither and are
 * let through. The access hook (auth/access-hook.ts) asks this for every request other than
 * GET/HEAD/OPTIONS that a session cookie authenticates; the sign-in forms ask it themselves.
 */
export function crossSiteReason(request: FastifyRequest): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none')
    return `the browser marked this request ${site}`;
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  if (origin === 'null') return 'the request came from an opaque origin';
  try {
    const from = new URL(origin);
    // Compared as URLs, so `example.com` and `example.com:80` are the same host.
    if (from.host !== new URL(`${from.protocol}//${request.headers.host ?? ''}`).host)
      return `the request came from ${origin}`;
  } catch {
    return 'the Origin header is not a URL';
  }
  return undefined;
}

/** HTML forms post `application/x-www-form-urlencoded`: parsed into a flat object of strings. */
export function acceptForms(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_request, body, done) => {
      const fields: Record<string, string> = {};
      for (const [key, value] of new URLSearchParams(String(body))) fields[key] = value;
      done(null, fields);
    },
  );
}
