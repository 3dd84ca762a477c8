import { describe, expect, it } from 'vitest';
import {
  checkOidcSettings,
  createStateSealer,
  emailDomainAllowed,
  readCookie,
  safeNextPath,
  type LoginState,
  type OidcSettings,
} from '../src/auth/oidc-state.js';

const login: LoginState = {
  state: 'st',
  nonce: 'no',
  codeVerifier: 'verifier',
  next: '/errors',
  expiresAt: 1_000_000,
};

describe('login state cookie', () => {
  it('opens what it sealed, until it expires', () => {
    const sealer = createStateSealer();
    const sealed = sealer.seal(login);
    expect(sealer.open(sealed, 999_999)).toEqual(login);
    expect(sealer.open(sealed, 1_000_000)).toBeUndefined();
  });

  it('refuses a tampered, truncated or foreign cookie', () => {
    const sealer = createStateSealer();
    const sealed = sealer.seal(login);
    const [iv, body, tag] = sealed.split('.') as [string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(sealer.open(`${iv}.${flipped.toString('base64url')}.${tag}`, 0)).toBeUndefined();
    expect(sealer.open(`${iv}.${body}`, 0)).toBeUndefined();
    expect(sealer.open(`${sealed}.x`, 0)).toBeUndefined();
    expect(sealer.open('', 0)).toBeUndefined();
    expect(sealer.open(undefined, 0)).toBeUndefined();
    // Another process (or a restart) has another key.
    expect(createStateSealer().open(sealed, 0)).toBeUndefined();
  });

  it('keeps the state and verifier unreadable', () => {
    const sealed = createStateSealer().seal({
      ...login,
      state: 'visible-state',
      codeVerifier: 'visible-verifier',
    });
    const plain = sealed
      .split('.')
      .map((part) => Buffer.from(part, 'base64url').toString('latin1'))
      .join('');
    expect(plain).not.toContain('visible');
  });

  it('reads one cookie from a Cookie header', () => {
    expect(readCookie('a=1; telltale_oidc=abc.def.ghi; b=2', 'telltale_oidc')).toBe('abc.def.ghi');
    expect(readCookie('xtelltale_oidc=1', 'telltale_oidc')).toBeUndefined();
    expect(readCookie(undefined, 'telltale_oidc')).toBeUndefined();
  });
});

describe('next path after login', () => {
  it('keeps same-site paths with their query', () => {
    expect(safeNextPath('/errors?app=web')).toBe('/errors?app=web');
    expect(safeNextPath('/')).toBe('/');
  });

  it.each([
    'https://evil.test/',
    '//evil.test/x',
    '/\\evil.test',
    '\\\\evil.test',
    'javascript:alert(1)',
    '/ok\r\nSet-Cookie: x=1',
    'errors',
    '',
    '/' + 'a'.repeat(3000),
  ])('sends %j to / instead', (next) => {
    expect(safeNextPath(next)).toBe('/');
  });

  it('ignores a next that is not a string (repeated query parameter)', () => {
    expect(safeNextPath(['/a', '/b'])).toBe('/');
    expect(safeNextPath(undefined)).toBe('/');
  });
});

describe('email domain allow-list', () => {
  const allowed = ['example.com', 'Team.Example.org'];
  it('matches the exact domain, whatever the case', () => {
    expect(emailDomainAllowed('alice@example.com', allowed)).toBe(true);
    expect(emailDomainAllowed('Alice@EXAMPLE.COM', allowed)).toBe(true);
    expect(emailDomainAllowed('bob@team.example.org', allowed)).toBe(true);
  });

  it.each([
    'mallory@example.com.evil.test',
    'mallory@evilexample.com',
    'mallory@sub.example.com',
    'mallory@example.org',
    'example.com',
    'mallory@',
    '@example.com',
    'example.com@evil.test',
  ])('refuses %s', (email) => {
    expect(emailDomainAllowed(email, allowed)).toBe(false);
  });
});

describe('OIDC settings at start-up', () => {
  const good: OidcSettings = {
    issuer: 'https://idp.example.com',
    clientId: 'telltale',
    clientSecret: 'secret',
    redirectUrl: 'https://telltale.example.com/auth/oidc/callback',
    allowedDomains: ['example.com'],
  };

  it('accepts https, and http only on loopback', () => {
    expect(checkOidcSettings(good).issuer).toBe(good.issuer);
    expect(() =>
      checkOidcSettings({
        ...good,
        issuer: 'http://127.0.0.1:9000',
        redirectUrl: 'http://localhost:8080/auth/oidc/callback',
      }),
    ).not.toThrow();
  });

  it.each([
    [{ issuer: 'http://idp.example.com' }, 'TELLTALE_OIDC_ISSUER'],
    [{ issuer: 'idp.example.com' }, 'TELLTALE_OIDC_ISSUER'],
    [{ clientId: ' ' }, 'TELLTALE_OIDC_CLIENT_ID'],
    [{ clientSecret: '' }, 'TELLTALE_OIDC_CLIENT_SECRET'],
    [{ redirectUrl: 'https://telltale.example.com/callback' }, '/auth/oidc/callback'],
    [{ allowedDomains: [] }, 'TELLTALE_OIDC_ALLOWED_DOMAINS'],
    [{ allowedDomains: ['*.example.com'] }, 'TELLTALE_OIDC_ALLOWED_DOMAINS'],
    [{ allowedDomains: ['@example.com'] }, 'TELLTALE_OIDC_ALLOWED_DOMAINS'],
  ] as Array<[Partial<OidcSettings>, string]>)('refuses %j naming %s', (change, named) => {
    expect(() => checkOidcSettings({ ...good, ...change })).toThrow(
      expect.objectContaining({
        code: 'TELLTALE_ERR_INVALID_CONFIG',
        message: expect.stringContaining(named),
      }),
    );
  });
});
