import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAppsFile } from '@telltale/collector';
import { readAppWebhooks } from '../src/alerts/index.js';

// An apps file with a secret left unquoted: the error says where, never a piece of the secret.
const SECRET = 'whsec_0123456789abcdef0123';
const BROKEN = `{
  "apps": [
    { "id": "shop", "ingestKeys": ["tt_live_0123456789abcdef"],
      "webhooks": [{ "type": "json", "url": "https://ops.example.com/hook", "secret": ${SECRET} }] }
  ]
}`;
const column = BROKEN.split('\n')[3]!.indexOf(SECRET) + 1;

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

describe('apps file JSON errors', () => {
  it('the collector names line and column of an unquoted secret, without quoting it', () => {
    const message = messageOf(() => parseAppsFile(BROKEN, 'telltale.config.json'));
    expect(message).toContain(`is not valid JSON at line 4, column ${column}`);
    for (const piece of [SECRET.slice(0, 5), SECRET.slice(6, 12), 'secret"'])
      expect(message).not.toContain(piece);
  });

  it('the dispatcher reading the same file says the same, without quoting it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tt-apps-json-'));
    try {
      const file = path.join(dir, 'telltale.config.json');
      await writeFile(file, BROKEN);
      const message = messageOf(() => readAppWebhooks(file));
      expect(message).toContain(`is not valid JSON at line 4, column ${column}`);
      for (const piece of [SECRET.slice(0, 5), SECRET.slice(6, 12), 'secret"'])
        expect(message).not.toContain(piece);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the position of other syntax errors too', () => {
    expect(messageOf(() => parseAppsFile('{"apps": [],\n}', 'f.json'))).toContain(
      'is not valid JSON at line 2, column 1',
    );
  });
});
