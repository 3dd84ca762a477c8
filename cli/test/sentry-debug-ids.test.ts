import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROJECT_ID } from '../src/demo-app.js';
import { main, startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir, waitFor } from './helpers.js';

const API_TOKEN = 'sentry-debug-ids-admin-token-0123456789ab';
const DEBUG_ID = 'c0ffee00-1234-4abc-8def-0123456789ab';
const SOURCE = `export function applyDiscount(cart) {
  if (cart.total < 0) {
    throw new Error('negative cart total');
  }
  return cart.total * 0.9;
}
window.checkout = () => applyDiscount({ total: -1 });
`;

async function run(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(argv, { stdout, stderr, env: {} });
  return { code, out, err };
}

describe('source maps by debug ID (sentry-cli sourcemaps inject)', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let telltale: RunningTelltale;
  beforeAll(async () => {
    data = await tempDir('sentry-debug-ids');
    telltale = await startTelltale({
      port: 0,
      dataDir: path.join(data.dir, 'data'),
      logger: false,
      env: { TELLTALE_API_TOKEN: API_TOKEN },
    });
  });
  afterAll(async () => {
    await telltale?.close();
    await data?.remove();
  });

  it('maps the frames of an event whose debug_meta names an uploaded debug ID, whatever its release and URL', async () => {
    // A minified build with its map, then what `sentry-cli sourcemaps inject` adds to both.
    const src = path.join(data.dir, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'checkout.js'), SOURCE);
    const dist = path.join(data.dir, 'dist');
    const built = await build({
      entryPoints: [path.join(src, 'checkout.js')],
      bundle: true,
      minify: true,
      sourcemap: 'external',
      format: 'iife',
      outfile: path.join(dist, 'app.min.js'),
      write: false,
      logLevel: 'silent',
    });
    const js = built.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
    const map = JSON.parse(built.outputFiles.find((f) => f.path.endsWith('.map'))!.text) as Record<
      string,
      unknown
    >;
    await mkdir(dist, { recursive: true });
    await writeFile(
      path.join(dist, 'app.min.js'),
      `${js}//# debugId=${DEBUG_ID}\n//# sourceMappingURL=app.min.js.map\n`,
    );
    await writeFile(path.join(dist, 'app.min.js.map'), JSON.stringify({ ...map, debug_id: DEBUG_ID }));

    const uploaded = await run([
      'sourcemaps',
      'upload',
      dist,
      '--release',
      'shop@1.0.0',
      '--url-prefix',
      'https://cdn.example.com/static/',
      '--endpoint',
      telltale.url,
      '--key',
      telltale.demoSecret!,
    ]);
    expect(uploaded.err).toBe('');
    expect(uploaded.out).toContain(`debug ID ${DEBUG_ID.replaceAll('-', '')}`);

    // The event names another release and serves the script from another URL: only the debug ID links them.
    const firstLine = js.split('\n')[0]!;
    const column = firstLine.indexOf('new Error') + 1;
    const url = 'https://shop.example.com/assets/bundle-7f3a.js';
    const event = {
      event_id: '9'.repeat(32),
      release: 'shop@1.0.0-rebuilt',
      exception: {
        values: [
          {
            type: 'Error',
            value: 'negative cart total',
            stacktrace: {
              frames: [
                { filename: url, abs_path: url, function: 'a', lineno: 1, colno: column, in_app: true },
              ],
            },
          },
        ],
      },
      debug_meta: { images: [{ type: 'sourcemap', code_file: url, debug_id: DEBUG_ID }] },
    };
    const body = `{"event_id":"${'9'.repeat(32)}"}\n{"type":"event"}\n${JSON.stringify(event)}\n`;
    const sent = await fetch(
      `${telltale.url}/api/${DEMO_PROJECT_ID}/envelope/?sentry_key=${telltale.demoKey}`,
      {
        method: 'POST',
        body,
      },
    );
    expect(sent.status).toBe(200);

    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const group = await waitFor('the group', async () => {
      const { groups } = (await (await fetch(`${telltale.url}/api/errors`, { headers: auth })).json()) as {
        groups: Array<{ id: string }>;
      };
      return groups[0];
    });
    const detail = (await (
      await fetch(`${telltale.url}/api/errors/${group.id}`, { headers: auth })
    ).json()) as {
      group: { frames: Array<{ function?: string; file?: string; line?: number; symbolicated?: boolean }> };
    };
    expect(detail.group.frames[0]).toMatchObject({ symbolicated: true, function: 'applyDiscount', line: 3 });
    expect(detail.group.frames[0]!.file).toContain('checkout.js');
  });
});
