// Single sign-on against a real OpenID provider (oidc-provider, in-process) in headless Chromium: a
// small fastify app registers the OIDC routes, its startSession sets a SameSite=Strict test cookie (as
// Telltale's session cookie is), and /private needs that cookie. The IdP is on another site
// (localhost, the app 127.0.0.1), so the callback is a cross-site redirect as with a real IdP.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOidcRoutes, type OidcSettings } from '../src/auth/oidc.js';
import { launchChromium, loopbackContext } from '../../test-support/chromium.js';
import { startTestProvider, type TestProvider } from '../../test-support/oidc-provider.js';
import { holdPort, withFreshPorts } from '../../test-support/ports.js';

const ACCOUNTS = {
  alice: { email: 'Alice@Example.com', email_verified: true, name: 'Alice Example' },
  mallory: { email: 'mallory@example.com.evil.test', email_verified: true },
  eve: { email: 'eve@example.com', email_verified: false },
  nomail: { name: 'No Mail' },
};

interface TestApp {
  origin: string;
  app: FastifyInstance;
  sessions: Array<{ email: string; name?: string }>;
  /** While set, the app answers the IdP's redirect with 204 and keeps its URL (code still unused). */
  hold: { callback: boolean; captured: string[] };
}

async function startApp(port: number, settings: OidcSettings): Promise<TestApp> {
  const app = Fastify();
  const sessions: TestApp['sessions'] = [];
  const hold: TestApp['hold'] = { callback: false, captured: [] };
  const origin = `http://127.0.0.1:${port}`;
  app.addHook('onRequest', async (request, reply) => {
    if (hold.callback && request.url.startsWith('/auth/oidc/callback?')) {
      hold.captured.push(`${origin}${request.url}`);
      return reply.code(204).send();
    }
  });
  await registerOidcRoutes(app, {
    settings,
    async startSession(_request, reply, identity) {
      sessions.push(identity);
      reply.header(
        'set-cookie',
        `test_session=${encodeURIComponent(identity.email)}; Path=/; HttpOnly; SameSite=Strict`,
      );
    },
  });
  app.get('/private', async (request, reply) => {
    const session = /(?:^|;\s*)test_session=([^;]{1,200})/.exec(request.headers.cookie ?? '')?.[1];
    if (!session) return reply.redirect('/auth/oidc/login?next=%2Fprivate%3Ftab%3Dmine', 302);
    const { tab } = request.query as { tab?: string };
    return reply
      .type('text/html')
      .send(`<h1 id="who">Signed in as ${decodeURIComponent(session)}</h1><p id="tab">${tab ?? ''}</p>`);
  });
  try {
    await app.listen({ port, host: '127.0.0.1' });
  } catch (error) {
    await app.close(); // e.g. EADDRINUSE: the caller tries another port
    throw error;
  }
  return { origin, app, sessions, hold };
}

/** Fills the provider's own login form (devInteractions: any password) and submits it. */
async function signInAtProvider(page: Page, issuer: string, login: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/interaction/`));
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any password');
  await page.click('button[type=submit]');
}

const testSession = async (context: BrowserContext) =>
  (await context.cookies()).find((c) => c.name === 'test_session');

describe('OpenID Connect login in Chromium', () => {
  let provider: TestProvider;
  let site: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    // The app's port is in the IdP's redirect URI before the app listens: taken meanwhile, both start again.
    ({ provider, site } = await withFreshPorts(1, async ([appPort]) => {
      const redirectUrl = `http://127.0.0.1:${appPort}/auth/oidc/callback`;
      // Claims in the ID token here; cli/test/sso.test.ts covers an IdP that serves them from UserInfo.
      const idp = await startTestProvider({
        redirectUri: redirectUrl,
        accounts: ACCOUNTS,
        claimsInIdToken: true,
      });
      try {
        const app = await startApp(appPort!, {
          issuer: idp.issuer,
          clientId: idp.clientId,
          clientSecret: idp.clientSecret,
          redirectUrl,
          allowedDomains: ['example.com'],
        });
        return { provider: idp, site: app };
      } catch (error) {
        await idp.close();
        throw error;
      }
    }));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.app.close();
    await provider?.close();
  });

  it('signs a person in at the IdP and lands them on the page they asked for', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    await page.goto(`${site.origin}/private`);
    await signInAtProvider(page, provider.issuer, 'alice');
    await page.waitForURL(`${site.origin}/private?tab=mine`);
    expect(await page.textContent('#who')).toBe('Signed in as alice@example.com');
    expect(await page.textContent('#tab')).toBe('mine');
    expect(site.sessions.at(-1)).toEqual({ email: 'alice@example.com', name: 'Alice Example' });
    expect(provider.userinfoRequests).toBe(0);
    // The login state cookie is spent once the callback ran.
    expect((await context.cookies()).find((c) => c.name === 'telltale_oidc')).toBeUndefined();
    await context.close();
  });

  it('keeps the login state in a short-lived HttpOnly SameSite=Lax cookie and uses PKCE S256', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    const authorize = page.waitForRequest((r) => r.url().startsWith(`${provider.issuer}/auth`));
    await page.goto(`${site.origin}/auth/oidc/login`);
    const params = new URL((await authorize).url()).searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(params.get('scope')).toBe('openid email profile');
    expect(params.get('state')).toBeTruthy();
    expect(params.get('nonce')).toBeTruthy();
    const cookie = (await context.cookies()).find((c) => c.name === 'telltale_oidc');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/auth/oidc' });
    // Neither the state nor the PKCE verifier can be read from the cookie: it is encrypted.
    expect(cookie!.value).not.toContain(params.get('state')!);
    expect(cookie!.expires * 1000 - Date.now()).toBeLessThanOrEqual(10 * 60 * 1000 + 5_000);
    await context.close();
  });

  it('refuses an email domain that is not allowed, with a 403 page and no session', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    const before = site.sessions.length;
    const callback = page.waitForResponse((r) => r.url().startsWith(`${site.origin}/auth/oidc/callback`));
    await page.goto(`${site.origin}/auth/oidc/login?next=/private`);
    await signInAtProvider(page, provider.issuer, 'mallory');
    const answer = await callback;
    expect(answer.status()).toBe(403);
    const text = await page.textContent('body');
    expect(text).toContain('not allowed');
    expect(text).toContain('TELLTALE_ERR_SSO_DOMAIN');
    expect(site.sessions.length).toBe(before);
    expect(await testSession(context)).toBeUndefined();
    const privatePage = await context.request.get(`${site.origin}/private`, { maxRedirects: 0 });
    expect(privatePage.status()).toBe(302);
    await context.close();
  });

  it('refuses an email the IdP has not verified', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    const callback = page.waitForResponse((r) => r.url().startsWith(`${site.origin}/auth/oidc/callback`));
    await page.goto(`${site.origin}/auth/oidc/login`);
    await signInAtProvider(page, provider.issuer, 'eve');
    expect((await callback).status()).toBe(403);
    expect(await page.textContent('body')).toContain('TELLTALE_ERR_SSO_EMAIL');
    expect(await testSession(context)).toBeUndefined();
    await context.close();
  });

  it('refuses an account without an email', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    const callback = page.waitForResponse((r) => r.url().startsWith(`${site.origin}/auth/oidc/callback`));
    await page.goto(`${site.origin}/auth/oidc/login`);
    await signInAtProvider(page, provider.issuer, 'nomail');
    expect((await callback).status()).toBe(403);
    expect(await page.textContent('body')).toContain('did not share an email');
    expect(await testSession(context)).toBeUndefined();
    await context.close();
  });

  /** Signs in at the IdP and stops at the app's callback: its URL, with a code not yet exchanged. */
  async function callbackUrl(page: Page): Promise<string> {
    site.hold.callback = true;
    try {
      await page.goto(`${site.origin}/auth/oidc/login`);
      await signInAtProvider(page, provider.issuer, 'alice');
      await expect.poll(() => site.hold.captured.length).toBe(1);
      return site.hold.captured.pop()!;
    } finally {
      site.hold.callback = false;
    }
  }

  it('refuses a callback whose state was forged, even with a real code from the IdP', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    const forged = new URL(await callbackUrl(page));
    expect(forged.searchParams.get('code')).toBeTruthy();
    forged.searchParams.set('state', 'forged-state');
    const answer = await page.goto(forged.href);
    expect(answer?.status()).toBe(400);
    expect(await page.textContent('body')).toContain('TELLTALE_ERR_SSO_FAILED');
    expect(await testSession(context)).toBeUndefined();
    await context.close();
  });

  it('refuses a callback opened in a browser that did not start the login (no state cookie)', async () => {
    const attacker = await loopbackContext(browser);
    const attackerPage = await attacker.newPage();
    const stolen = await callbackUrl(attackerPage);
    const victim = await loopbackContext(browser);
    const victimPage = await victim.newPage();
    const answer = await victimPage.goto(stolen);
    expect(answer?.status()).toBe(400);
    expect(await victimPage.textContent('body')).toContain('TELLTALE_ERR_SSO_FAILED');
    expect(await testSession(victim)).toBeUndefined();
    // The very same URL signs in the browser that started the login: the state cookie is the difference.
    await attackerPage.goto(stolen);
    await attackerPage.waitForURL(`${site.origin}/`);
    expect((await testSession(attacker))?.value).toBe(encodeURIComponent('alice@example.com'));
    await victim.close();
    await attacker.close();
  });

  it('shows the IdP refusal when the person cancels at the IdP', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    const callback = page.waitForResponse((r) => r.url().startsWith(`${site.origin}/auth/oidc/callback`));
    await page.goto(`${site.origin}/auth/oidc/login`);
    await page.waitForURL((url) => url.href.startsWith(`${provider.issuer}/interaction/`));
    await page.click('text=[ Cancel ]');
    expect((await callback).status()).toBe(400);
    const text = await page.textContent('body');
    expect(text).toContain('access_denied');
    expect(text).toContain('TELLTALE_ERR_SSO_FAILED');
    expect(await testSession(context)).toBeUndefined();
    await context.close();
  });
});

describe('OpenID Connect discovery', () => {
  it('starts while the IdP is down, answers 503, and signs in once the IdP is up', async () => {
    // The IdP is down: its port is held by a listener that resets every connection, so nothing else
    // takes it before the IdP comes up there.
    const idpPort = await holdPort();
    const clientSecret = 'test-client-secret-with-enough-entropy-0123456789';
    const site = await withFreshPorts(1, ([appPort]) =>
      startApp(appPort!, {
        issuer: `http://localhost:${idpPort.port}`,
        clientId: 'telltale-test',
        clientSecret,
        redirectUrl: `http://127.0.0.1:${appPort}/auth/oidc/callback`,
        allowedDomains: ['example.com'],
      }),
    );
    const redirectUrl = `${site.origin}/auth/oidc/callback`;
    let provider: TestProvider | undefined;
    try {
      const down = await fetch(`${site.origin}/auth/oidc/login`, { redirect: 'manual' });
      expect(down.status).toBe(503);
      expect(await down.text()).toContain('TELLTALE_ERR_SSO_UNAVAILABLE');
      await idpPort.release();
      provider = await startTestProvider({
        redirectUri: redirectUrl,
        accounts: ACCOUNTS,
        port: idpPort.port,
      });
      const up = await fetch(`${site.origin}/auth/oidc/login`, { redirect: 'manual' });
      expect(up.status).toBe(302);
      expect(up.headers.get('location')).toContain(`${provider.issuer}/auth?`);
      // Discovery is remembered once it worked.
      await fetch(`${site.origin}/auth/oidc/login`, { redirect: 'manual' });
      expect(provider.discoveries).toBe(1);
    } finally {
      await site.app.close();
      await provider?.close();
      await idpPort.release();
    }
  });
});
