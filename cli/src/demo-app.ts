import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  mkdirDurable,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  tightenMode,
  writeFileDurably,
} from '@telltale/spool';
import { dataLayout } from '@telltale/protocol';

export interface DemoApp {
  id: string;
  name: string;
  /** Its Sentry project id: the demo app's DSN ends in `/1`. */
  projectId: number;
  /** Public, write-only: ships inside the demo page. */
  ingestKey: string;
  /** Secret: server logs, source maps, attachments. */
  secretKey: string;
}

const DEMO_APP_ID = 'demo';
export const DEMO_PROJECT_ID = 1;

// Hex only: the ingest key goes in a Sentry DSN, whose parser takes `\w+` keys.
const newKey = (prefix: string): string => `${prefix}${randomBytes(16).toString('hex')}`;

/**
 * The demo app exists from the first start. Its keys are fixed by TELLTALE_DEMO_KEY and
 * TELLTALE_DEMO_SECRET or generated once and kept in the data dir, so browsers holding queued
 * events and servers holding the secret keep working across restarts.
 */
export async function ensureDemoApp(
  dataDir: string,
  fixed: { ingestKey?: string | undefined; secretKey?: string | undefined } = {},
): Promise<DemoApp> {
  const file = dataLayout(dataDir).demoApp;
  const stored = await readFile(file, 'utf8')
    .then((text) => JSON.parse(text) as { ingestKey?: string; secretKey?: string })
    .catch(() => ({}) as { ingestKey?: string; secretKey?: string });
  const keys = {
    ingestKey: stored.ingestKey ?? newKey('tt_demo_'),
    secretKey: stored.secretKey ?? newKey('tt_secret_demo_'),
  };
  // The first thing a start creates: the data dir, this user only (everything below holds raw data).
  await mkdirDurable(dataDir, PRIVATE_DIR_MODE);
  if (stored.ingestKey !== keys.ingestKey || stored.secretKey !== keys.secretKey) {
    // The secret key is a credential: readable by this user only.
    await writeFileDurably(file, JSON.stringify(keys) + '\n', PRIVATE_FILE_MODE);
  } else {
    await tightenMode(file, PRIVATE_FILE_MODE);
  }
  return {
    id: DEMO_APP_ID,
    name: 'Demo app',
    projectId: DEMO_PROJECT_ID,
    ingestKey: fixed.ingestKey ?? keys.ingestKey,
    secretKey: fixed.secretKey ?? keys.secretKey,
  };
}
