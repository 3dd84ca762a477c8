/**
 * The pure parts of the OpenID Connect login: the encrypted login-state cookie, the `next` path
 * check, the email-domain allow-list, and the settings check run once at start-up.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { TelltaleError } from '@telltale/protocol';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUrl: string;
  allowedDomains: readonly string[];
}

/** What the login route remembers for its callback: the per-login secrets and where to go after. */
export interface LoginState {
  state: string;
  nonce: string;
  codeVerifier: string;
  next: string;
  /** Epoch ms after which the callback refuses this state. */
  expiresAt: number;
}

export const STATE_COOKIE = 'telltale_oidc';
/** A login is a few clicks at the IdP; ten minutes covers a password manager and a second factor. */
export const STATE_TTL_MS = 10 * 60 * 1000;
export const CALLBACK_PATH = '/auth/oidc/callback';
const MAX_NEXT_LENGTH = 2048;
/** Cookies over ~4 KB are dropped by browsers; ours is ~300 B, anything far larger is not ours. */
const MAX_COOKIE_LENGTH = 4096;

const b64url = (bytes: Buffer): string => bytes.toString('base64url');

/**
 * AES-256-GCM with a key made for this process: the browser can neither read the PKCE verifier nor
 * forge a state, and no secret from the settings can be brute-forced from a cookie.
 */
export function createStateSealer(key: Buffer = randomBytes(32)) {
  return {
    seal(login: LoginState): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(login), 'utf8'), cipher.final()]);
      return `${b64url(iv)}.${b64url(body)}.${b64url(cipher.getAuthTag())}`;
    },
    /** The login state, or undefined when the cookie is missing, forged, tampered with or expired. */
    open(sealed: string | undefined, now: number): LoginState | undefined {
      if (sealed === undefined || sealed.length > MAX_COOKIE_LENGTH) return undefined;
      const [iv, body, tag, extra] = sealed.split('.');
      if (iv === undefined || body === undefined || tag === undefined || extra !== undefined)
        return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        const json = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
        const login = JSON.parse(json.toString('utf8')) as LoginState;
        return typeof login.expiresAt === 'number' && login.expiresAt > now ? login : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export type StateSealer = ReturnType<typeof createStateSealer>;

/** The value of one cookie from a Cookie header, without needing a cookie plugin on the app. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 16_384) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function stateCookie(value: string, secure: boolean, maxAgeSeconds: number): string {
  // Lax, not Strict: the callback is a top-level navigation from the IdP's site.
  return `${STATE_COOKIE}=${value}; Path=/auth/oidc; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/**
 * `next` as a same-site path, or `/`: an absolute URL, `//host`, `/\host` or a control character
 * would turn the login into an open redirect.
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > MAX_NEXT_LENGTH) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  const base = 'http://telltale.invalid';
  try {
    const url = new URL(next, base);
    const path = `${url.pathname}${url.search}${url.hash}`;
    // Again after normalisation: `/.//evil.com` becomes `//evil.com`, another site.
    return url.origin === base && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/';
  } catch {
    return '/';
  }
}

/** The email's domain is one of the allowed ones, exactly (case-insensitive): no suffix matches. */
export function emailDomainAllowed(email: string, allowedDomains: readonly string[]): boolean {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return false;
  const domain = email.slice(at + 1).toLowerCase();
  return allowedDomains.some((allowed) => allowed.toLowerCase() === domain);
}

/** True for an http issuer or redirect on this machine (tests, a local IdP); https elsewhere. */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

function invalid(field: string, fix: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `OIDC ${field}: ${fix}`);
}

function webUrl(value: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid(field, `"${value}" is not a URL; give the full https:// address`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url)))
    invalid(field, `"${value}" must use https (http is accepted only for 127.0.0.1 or localhost)`);
  return url;
}

/** Checks the settings once at start-up; an error names the setting (and its variable) and the fix. */
export function checkOidcSettings(settings: OidcSettings): Readonly<OidcSettings> {
  webUrl(settings.issuer, 'issuer (TELLTALE_OIDC_ISSUER)');
  if (settings.clientId.trim() === '')
    invalid('clientId (TELLTALE_OIDC_CLIENT_ID)', 'is empty; copy the client id from the IdP');
  if (settings.clientSecret.trim() === '')
    invalid('clientSecret (TELLTALE_OIDC_CLIENT_SECRET)', 'is empty; copy the client secret from the IdP');
  const redirect = webUrl(settings.redirectUrl, 'redirectUrl');
  if (redirect.pathname !== CALLBACK_PATH || redirect.search !== '' || redirect.hash !== '')
    invalid('redirectUrl', `must be <public URL>${CALLBACK_PATH}, got "${settings.redirectUrl}"`);
  if (settings.allowedDomains.length === 0)
    invalid(
      'allowedDomains (TELLTALE_OIDC_ALLOWED_DOMAINS)',
      'is empty, so nobody could sign in; list the email domains, comma-separated (example.com)',
    );
  for (const domain of settings.allowedDomains)
    if (!DOMAIN.test(domain))
      invalid(
        'allowedDomains (TELLTALE_OIDC_ALLOWED_DOMAINS)',
        `"${domain}" is not a domain name; give bare domains such as example.com (no @, no wildcard)`,
      );
  return Object.freeze({ ...settings, allowedDomains: Object.freeze([...settings.allowedDomains]) });
}
