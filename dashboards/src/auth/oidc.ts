/**
 * Single sign-on: an OpenID Connect relying party (authorization code flow with PKCE S256, state and
 * nonce) built on openid-client, which validates the ID token. Two routes: GET /auth/oidc/login and
 * GET /auth/oidc/callback. Who the person is becomes a session through the caller's `startSession`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { ERROR_CODES, type ErrorCode } from '@telltale/protocol';
import { html } from '../html.js';
import { STYLESHEET_PATH } from '../views/layout.js';
import {
  CALLBACK_PATH,
  STATE_COOKIE,
  STATE_TTL_MS,
  checkOidcSettings,
  createStateSealer,
  emailDomainAllowed,
  isLoopbackUrl,
  readCookie,
  safeNextPath,
  stateCookie,
  type OidcSettings,
} from './oidc-state.js';

export type { OidcSettings } from './oidc-state.js';

export interface OidcRouteOptions {
  settings: OidcSettings;
  /** Called after a verified login whose email is in an allowed domain: sets the session cookie on reply. */
  startSession: (
    request: FastifyRequest,
    reply: FastifyReply,
    identity: { email: string; name?: string },
  ) => Promise<void>;
}

export const OIDC_SCOPES = 'openid email profile';
const MAX_SHOWN_DETAIL = 200;

/** Claims as the IdP sent them (email, email_verified, name), checked before use. */
type Identity = Readonly<Record<string, unknown>>;

/**
 * Discovery on first use, remembered once it works and retried by the next login after a failure:
 * an IdP down at start-up never stops Telltale. Logins meanwhile share one request in flight.
 */
function lazyDiscovery(settings: Readonly<OidcSettings>) {
  let pending: Promise<oidc.Configuration> | undefined;
  const issuer = new URL(settings.issuer);
  // http only for an IdP on this machine (checkOidcSettings refused it elsewhere).
  const execute = issuer.protocol === 'http:' && isLoopbackUrl(issuer) ? [oidc.allowInsecureRequests] : [];
  return (): Promise<oidc.Configuration> => {
    if (pending) return pending;
    pending = oidc
      .discovery(issuer, settings.clientId, undefined, oidc.ClientSecretPost(settings.clientSecret), {
        execute,
        timeout: 10, // seconds: a hung IdP must not hold the login page for the default 30 s
      })
      .catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
    return pending;
  };
}

function errorPage(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  const title = code === 'TELLTALE_ERR_SSO_DOMAIN' ? 'Domain not allowed' : 'Sign-in failed';
  const body = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Telltale</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main>
<h1>${title}</h1>
<p class="lead">${message}</p>
<p>Error code: <code>${code}</code></p>
<p><a href="/auth/oidc/login">Try signing in again</a></p>
</main>
</body>
</html>
`;
  return reply
    .code(ERROR_CODES[code].status)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(body.value);
}

/**
 * The way on after a login, as a page of ours rather than a 302: this request arrived by a redirect
 * from the IdP's site, and a browser keeps a SameSite=Strict session cookie off every redirect of that
 * chain, so a 302 would land signed out. A navigation our own page starts is same-site.
 */
function continuePage(reply: FastifyReply, next: string): FastifyReply {
  const body = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0; url=${next}">
<title>Signed in · Telltale</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main><p class="lead">Signed in. <a id="continue" href="${next}">Continue</a></p></main>
</body>
</html>
`;
  return reply.code(200).type('text/html; charset=utf-8').send(body.value);
}

const clip = (text: string): string =>
  text.length > MAX_SHOWN_DETAIL ? `${text.slice(0, MAX_SHOWN_DETAIL)}…` : text;

/** Why the code exchange or token validation failed, in words a person can act on. */
function exchangeFailure(error: unknown): string {
  if (error instanceof oidc.AuthorizationResponseError)
    return `The identity provider refused the login (${clip(error.error)}${
      error.error_description ? `: ${clip(error.error_description)}` : ''
    }).`;
  if (error instanceof oidc.ResponseBodyError)
    return `The identity provider refused the code exchange (${clip(error.error)}). Start the login again.`;
  return `The login could not be verified (${clip(error instanceof Error ? error.message : String(error))}). Start the login again.`;
}

/** The claims of a verified login: from the ID token, or the UserInfo endpoint when it has no email. */
async function identityOf(
  config: oidc.Configuration,
  tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>,
): Promise<Identity> {
  const claims = tokens.claims();
  if (!claims) throw new Error('the identity provider returned no ID token');
  // Many IdPs keep scope claims (email) out of the ID token and serve them from UserInfo only.
  if (typeof claims.email === 'string') return claims;
  return oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
}

export async function registerOidcRoutes(app: FastifyInstance, options: OidcRouteOptions): Promise<void> {
  const settings = checkOidcSettings(options.settings);
  const redirectUrl = new URL(settings.redirectUrl);
  const secure = redirectUrl.protocol === 'https:';
  const sealer = createStateSealer();
  const configuration = lazyDiscovery(settings);
  const allowed = settings.allowedDomains.join(', ');

  app.get('/auth/oidc/login', async (request, reply) => {
    const { next } = request.query as { next?: unknown };
    let config: oidc.Configuration;
    try {
      config = await configuration();
    } catch (error) {
      request.log.warn({ err: error }, 'OpenID Connect discovery failed');
      return errorPage(
        reply,
        'TELLTALE_ERR_SSO_UNAVAILABLE',
        `The identity provider at ${settings.issuer} cannot be reached. Try again in a minute.`,
      );
    }
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const sealed = sealer.seal({
      state,
      nonce,
      codeVerifier,
      next: safeNextPath(next),
      expiresAt: Date.now() + STATE_TTL_MS,
    });
    const target = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUrl.href,
      scope: OIDC_SCOPES,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return reply
      .header('set-cookie', stateCookie(sealed, secure, STATE_TTL_MS / 1000))
      .header('cache-control', 'no-store')
      .redirect(target.href, 302);
  });

  app.get(CALLBACK_PATH, async (request, reply) => {
    const login = sealer.open(readCookie(request.headers.cookie, STATE_COOKIE), Date.now());
    // Single use: whatever happens next, this login state is spent.
    reply.header('set-cookie', stateCookie('', secure, 0)).header('cache-control', 'no-store');
    const query = new URL(request.url, 'http://callback.invalid').searchParams;
    if (!login || query.get('state') !== login.state)
      return errorPage(
        reply,
        'TELLTALE_ERR_SSO_FAILED',
        'This sign-in link is expired or was not started in this browser. Start the login again.',
      );
    let identity: Identity;
    try {
      const config = await configuration();
      // The URL the IdP redirected to, rebuilt from the configured one: never trust the Host header.
      const current = new URL(redirectUrl.href);
      current.search = query.toString();
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      identity = await identityOf(config, tokens);
    } catch (error) {
      request.log.warn({ err: error }, 'OpenID Connect callback refused');
      return errorPage(reply, 'TELLTALE_ERR_SSO_FAILED', exchangeFailure(error));
    }
    // Lower-cased so a person added as alice@example.com is found whatever case the IdP uses.
    const email = typeof identity.email === 'string' ? identity.email.trim().toLowerCase() : '';
    if (email === '' || identity.email_verified === false)
      return errorPage(
        reply,
        'TELLTALE_ERR_SSO_EMAIL',
        email === ''
          ? 'The identity provider did not share an email address. Ask its administrator to release the email claim.'
          : `The identity provider has not verified ${email}. Verify the address there, then sign in again.`,
      );
    if (!emailDomainAllowed(email, settings.allowedDomains))
      return errorPage(
        reply,
        'TELLTALE_ERR_SSO_DOMAIN',
        `The domain of ${email} is not allowed to sign in to this Telltale (allowed: ${allowed}). Ask an admin to add it to TELLTALE_OIDC_ALLOWED_DOMAINS.`,
      );
    const name = typeof identity.name === 'string' && identity.name !== '' ? identity.name : undefined;
    await options.startSession(request, reply, name === undefined ? { email } : { email, name });
    return continuePage(reply, login.next);
  });
}
