import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, startTelltale, type RunningTelltale } from '../src/index.js';
import { launchChromium, tempDir } from './helpers.js';
import { PassThrough } from 'node:stream';

const PASSWORD = 'a password for chromium';

/** Sign-in as a person does it: real Chromium, the form, the cookie, the nav bar, sign-out. */
describe('signing in to the dashboards in Chromium', () => {
  let browser: Browser;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let telltale: RunningTelltale;

  beforeAll(async () => {
    [browser, data] = await Promise.all([launchChromium(), tempDir('access-browser')]);
    const stdin = new PassThrough();
    stdin.end(`${PASSWORD}\n`);
    const io = {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      env: { TELLTALE_DATA_DIR: data.dir },
      stdin,
    };
    expect(await main(['users', 'add', 'grace@example.com', '--role', 'viewer'], io)).toBe(0);
    telltale = await startTelltale({ port: 0, dataDir: data.dir, logger: false, env: {} });
  });
  afterAll(async () => {
    await telltale?.close();
    await browser?.close();
    await data?.remove();
  });

  it('sends a visitor to the login page, back to the page they wanted, and out again', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });

    await page.goto(`${telltale.url}/features`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/features');

    await page.fill('input[name=email]', 'grace@example.com');
    await page.fill('input[name=password]', 'not her password');
    await page.click('button[type=submit]');
    expect(await page.textContent('[role=alert]')).toBe('Wrong email or password.');

    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${telltale.url}/features`);
    expect(await page.textContent('header form.viewer a')).toBe('grace@example.com');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({
      name: 'telltale_session',
      httpOnly: true,
      sameSite: 'Strict',
      secure: false,
    });

    await page.click('header form.viewer button');
    await page.waitForURL(/\/login$/);
    await page.goto(`${telltale.url}/features`);
    expect(new URL(page.url()).pathname).toBe('/login'); // the session is gone server-side too
    expect(violations).toEqual([]);
    await context.close();
  });
});
