import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const sdkRoot = path.dirname(createRequire(import.meta.url).resolve('@telltale/browser-sdk/package.json'));

const script = 'text/javascript; charset=utf-8';
const DEMO_ASSETS: Record<string, { file: string; type: string }> = {
  '/demo/demo.js': { file: 'demo/demo.js', type: script },
  '/demo/demo.css': { file: 'demo/demo.css', type: 'text/css; charset=utf-8' },
};
const SDK_ASSETS: Record<string, { file: string; type: string }> = {
  // The SDK and the files it loads on demand: fflate where CompressionStream is missing, the add-ons.
  ...Object.fromEntries(
    [
      'telltale.min.js',
      'index.js',
      'gzip.js',
      'telltale-bug.js',
      'telltale-trace.js',
      'report-bug.js',
      'traceparent.js',
    ].map((name) => [`/sdk/${name}`, { file: `dist/${name}`, type: script }]),
  ),
};

// The demo runs under the CSP we ask of our users: no inline script, no eval.
const DEMO_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'";

const escapeAttribute = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The SDK bundle under `/sdk/*` (apps load it from here), and, when the demo app is on, the demo
 * page (`/demo`) wired to its ingest key. Without a key `/demo` is not registered: a 404.
 */
export async function registerDemoRoutes(
  app: FastifyInstance,
  options: { ingestKey: string | undefined },
): Promise<void> {
  for (const [route, asset] of Object.entries(SDK_ASSETS)) serveAsset(app, route, asset);
  if (options.ingestKey === undefined) return;
  const template = await readFile(path.join(sdkRoot, 'demo/index.html'), 'utf8');
  const page = template
    .replaceAll('%TELLTALE_KEY%', escapeAttribute(options.ingestKey))
    .replaceAll('%TELLTALE_ENDPOINT%', '');

  app.get('/demo', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('Content-Security-Policy', DEMO_CSP).send(page),
  );
  for (const [route, asset] of Object.entries(DEMO_ASSETS)) serveAsset(app, route, asset);
}

function serveAsset(app: FastifyInstance, route: string, asset: { file: string; type: string }): void {
  app.get(route, async (_request, reply) => {
    const body = await readFile(path.join(sdkRoot, asset.file));
    return reply.type(asset.type).header('Cache-Control', 'no-cache').send(body);
  });
}
