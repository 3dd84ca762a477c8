// Headless Chromium for tests: Debian's /usr/bin/chromium driven by playwright-core, with the flags
// that work on these machines (/work/shared/REAL-SERVICES.md). Each launch gets a fresh profile.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

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
