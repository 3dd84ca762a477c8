// Single sign-on through the real server (startTelltale with TELLTALE_OIDC_*), in Chromium, against a
// real OpenID provider (oidc-provider) on another site: the login page's SSO link, the IdP's form,
// the dashboard; an unknown person is a viewer, a known admin keeps the admin role.
import { PassThrough } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, loopbackContext } from '../../test-support/chromium.js';
import { startTestProvider, type TestProvider } from '../../test-support/oidc-provider.js';
import { withFreshPorts } from '../../test-support/ports.js';
import { main, startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir } from './helpers.js';

const ACCOUNTS = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice' },
  bob: { email: 'Bob@Example.com', email_verified: true, name: 'Bob' },
};

async function addAdmin(email: string, env: NodeJS.ProcessEnv): Promise<number> {
  const stdin = new PassThrough();
  stdin.end('correct horse battery\n');
  return main(['users', 'add', email, '--role', 'admin', '--password-stdin'], {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    stdin,
    env,
  });
}

/** From a signed-out dashboard page to the dashboard, through the login page and the IdP. */
async function signInWithSso(page: Page, t: RunningTelltale, issuer: string, login: string): Promise<void> {
  await page.goto(`${t.url}/`);
  await page.waitForURL(`${t.url}/login**`);
  await page.click('text=Sign in with SSO');
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/interaction/`));
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any password');
  await page.click('button[type=submit]');
  await page.waitForURL(`${t.url}/`);
}

/** A same-origin state change from the signed-in page, as the dashboard's own form or script would. */
const addMuteRule = (page: Page) =>
  page.evaluate(async () => {
    const r = await fetch('/api/mute-rules', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'sso test rule' }),
    });
    return { status: r.status, body: await r.text() };
  });

describe('single sign-on through startTelltale', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let provider: TestProvider;
  let telltale: RunningTelltale;
  let browser: Browser;

  beforeAll(async () => {
    // Telltale's port is in the IdP's redirect URI before Telltale listens: if another process took it
    // meanwhile, everything starts again on another port, in a fresh data dir.
    await withFreshPorts(1, async ([port]) => {
      data = await tempDir('sso');
      const url = `http://127.0.0.1:${port}`;
      provider = await startTestProvider({ redirectUri: `${url}/auth/oidc/callback`, accounts: ACCOUNTS });
      try {
        const env: NodeJS.ProcessEnv = {
          TELLTALE_DATA_DIR: data.dir,
          TELLTALE_DASHBOARD_URL: url,
          TELLTALE_OIDC_ISSUER: provider.issuer,
          TELLTALE_OIDC_CLIENT_ID: provider.clientId,
          TELLTALE_OIDC_CLIENT_SECRET: provider.clientSecret,
          TELLTALE_OIDC_ALLOWED_DOMAINS: 'example.com',
        };
        expect(await addAdmin('bob@example.com', env)).toBe(0);
        telltale = await startTelltale({ port, dataDir: data.dir, logger: false, env });
      } catch (error) {
        await provider.close();
        await data.remove();
        throw error;
      }
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await telltale?.close();
    await provider?.close();
    await data?.remove();
  });

  it('signs a new person in as a viewer who reads the dashboard but cannot change state', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    await signInWithSso(page, telltale, provider.issuer, 'alice');
    expect(await page.textContent('header')).toContain('alice@example.com');
    // This IdP serves the email from UserInfo only, not in the ID token: Telltale asked it.
    expect(provider.userinfoRequests).toBeGreaterThan(0);
    expect(await page.textContent('h1')).toContain('Errors');
    const read = await page.evaluate(async () => (await fetch('/api/mute-rules')).status);
    expect(read).toBe(200);
    const change = await addMuteRule(page);
    expect(change.status).toBe(403);
    expect(change.body).toContain('TELLTALE_ERR_FORBIDDEN');
    await context.close();
  });

  it('lets a known admin keep the admin role when signing in with SSO', async () => {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    await signInWithSso(page, telltale, provider.issuer, 'bob');
    expect(await page.textContent('header')).toContain('bob@example.com');
    const change = await addMuteRule(page);
    expect(change.status).toBeLessThan(300);
    await context.close();
  });
});
