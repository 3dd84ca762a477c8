// Headless Chromium for tests: Debian's /usr/bin/chromium driven by playwright-core, with the flags
// that work on these machines (/work/shared/REAL-SERVICES.md). Each launch gets a fresh profile.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Fails loudly with the install command when Chromium is missing: a skipped browser test would lie. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install it with "apt-get install -y chromium" (scripts/test-prereqs.sh does)`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
}

/**
 * A context that reaches 127.0.0.1 only: these machines have no network, and a page's font or CDN
 * request would otherwise hang until it times out.
 */
export async function loopbackContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.route(
    (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'localhost',
    (route) => route.abort(),
  );
  return context;
}

/**
 * A loopback context (every request carrying `Authorization: Bearer <bearer>` when one is given) and
 * one tab in it whose console reports of Content Security Policy violations are pushed to
 * `cspViolations`, for the test to expect it empty at the end.
 */
export async function openCspTab(
  browser: Browser,
  cspViolations: string[],
  bearer?: string,
): Promise<{ context: BrowserContext; tab: Page }> {
  const context = await loopbackContext(browser);
  if (bearer !== undefined) await context.setExtraHTTPHeaders({ authorization: `Bearer ${bearer}` });
  const tab = await context.newPage();
  tab.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  return { context, tab };
}
