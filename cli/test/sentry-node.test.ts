import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROJECT_ID } from '../src/demo-app.js';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { startSmtpServer, tempDir, waitFor } from './helpers.js';

const API_TOKEN = 'sentry-node-admin-token-0123456789abcdef';
const ROOT = path.resolve(import.meta.dirname, '../..');
// The script runs from a temp dir: it imports the SDK installed at the repository root by its path.
const SENTRY_NODE = pathToFileURL(createRequire(import.meta.url).resolve('@sentry/node')).href;

/** An app that already uses @sentry/node: only its DSN changed. */
const APP_SCRIPT = `
import * as Sentry from '${SENTRY_NODE}';
Sentry.init({ dsn: process.env.SENTRY_DSN, release: 'billing@3.1.0', environment: 'test', tracesSampleRate: 0 });
function chargeCard(amount) {
  if (amount > 100) throw new RangeError('card declined: amount over limit');
}
try {
  chargeCard(500);
} catch (error) {
  Sentry.captureException(error);
}
const flushed = await Sentry.flush(10000);
console.log('flushed=' + flushed);
setTimeout(function reconcileLedger() {
  throw new TypeError('ledger entry has no account');
}, 10);
`;

interface Group {
  id: string;
  type: string;
  message: string;
}
interface Detail {
  group: { frames: Array<{ function?: string; file?: string; line?: number }> };
}

describe('@sentry/node from a Node process, with a Telltale DSN', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let telltale: RunningTelltale;
  const api = async <T>(url: string): Promise<T> => {
    const response = await fetch(`${telltale.url}${url}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    [data, smtp] = await Promise.all([tempDir('sentry-node'), startSmtpServer()]);
    telltale = await startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: API_TOKEN },
      dispatcher: { smtpUrl: smtp.url, alertTo: 'oncall@example.test' },
    });
  });
  afterAll(async () => {
    await telltale?.close();
    await smtp?.close();
    await data?.remove();
  });

  it('turns a caught and an uncaught error into groups with frames, one email each; Sentry.flush resolves', async () => {
    const script = path.join(data.dir, 'billing-app.mjs');
    await writeFile(script, APP_SCRIPT);
    const dsn = `${telltale.url.replace('//', `//${telltale.demoKey}@`)}/${DEMO_PROJECT_ID}`;
    const child = spawn(process.execPath, [script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, SENTRY_DSN: dsn },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    // The uncaught error ends the process (exit 1), after Sentry's handler sent it.
    expect(code, err).toBe(1);
    expect(out, err).toContain('flushed=true');

    const groups = await waitFor('both errors on /api/errors', async () => {
      const { groups } = await api<{ groups: Group[] }>('/api/errors');
      return groups.length >= 2 ? groups : undefined;
    });
    expect(groups.map((g) => [g.type, g.message]).sort()).toEqual([
      ['RangeError', 'card declined: amount over limit'],
      ['TypeError', 'ledger entry has no account'],
    ]);
    const range = groups.find((g) => g.type === 'RangeError')!;
    const detail = await api<Detail>(`/api/errors/${encodeURIComponent(range.id)}`);
    expect(detail.group.frames[0]).toMatchObject({ function: 'chargeCard', line: 5 });
    expect(detail.group.frames[0]!.file).toContain('billing-app.mjs');
    const typeError = groups.find((g) => g.type === 'TypeError')!;
    const uncaught = await api<Detail>(`/api/errors/${encodeURIComponent(typeError.id)}`);
    expect(uncaught.group.frames.map((f) => f.function)).toContainEqual(
      expect.stringContaining('reconcileLedger'),
    );

    await waitFor('one email per new group', () => (smtp.messages.length >= 2 ? true : undefined));
    const subjects = smtp.messages.map((m) => m.subject);
    expect(subjects.filter((s) => s.includes('RangeError'))).toHaveLength(1);
    expect(subjects.filter((s) => s.includes('TypeError'))).toHaveLength(1);
  }, 60_000);
});
