import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface DemoApp {
  id: string;
  name: string;
  ingestKey: string;
}

const DEMO_APP_ID = 'demo';

/**
 * The demo app exists from the first start. Its key is fixed by TELLTALE_DEMO_KEY or generated once
 * and kept in the data dir, so browsers holding queued events keep working across restarts.
 */
export async function ensureDemoApp(dataDir: string, fixedKey: string | undefined): Promise<DemoApp> {
  const file = path.join(dataDir, 'demo-app.json');
  let key = fixedKey;
  if (key === undefined) {
    key = await readFile(file, 'utf8')
      .then((text) => (JSON.parse(text) as { ingestKey?: string }).ingestKey)
      .catch(() => undefined);
  }
  if (key === undefined) {
    key = `tt_demo_${randomBytes(18).toString('base64url')}`;
    await mkdir(dataDir, { recursive: true });
    await writeFile(`${file}.tmp`, JSON.stringify({ ingestKey: key }) + '\n', { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }
  return { id: DEMO_APP_ID, name: 'Demo app', ingestKey: key };
}
