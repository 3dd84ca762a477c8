// The harnesses live in test-support/ (one copy for every package's tests); this file keeps the
// paths the cli's tests import them from.
export { CHROMIUM, launchChromium } from '../../test-support/chromium.js';
export { startSmtpServer, type ReceivedMail } from '../../test-support/smtp.js';
export { readSpool } from '../../test-support/spool.js';
export { tempDir, waitFor } from '../../test-support/wait.js';

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as T;
}
