import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/**
 * Real services for the dispatchers' integration tests: a ClickHouse server of our own, Azurite, and
 * a contract server of the Azure Logs Ingestion API. Each binds 127.0.0.1 on free ports, keeps its
 * data in a temp dir, and fails loudly (with the install command) when it cannot start.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

// ---------------------------------------------------------------------------------------------- ClickHouse

export const CLICKHOUSE_SERVER = '/usr/sbin/clickhouse-server';
export const CLICKHOUSE_CLIENT = '/usr/bin/clickhouse-client';

export interface ClickHouseServer {
  /** HTTP interface, e.g. http://127.0.0.1:41234 */
  url: string;
  tcpPort: number;
  /** Runs one statement over HTTP; resolves to the body (TabSeparated). */
  query(sql: string): Promise<string>;
  /** Stops the server (SIGTERM) and waits for it to exit; the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/** Debian's clickhouse-server with a config of our own. Takes a few seconds: share one per test file. */
export async function startClickHouse(): Promise<ClickHouseServer> {
  if (!existsSync(CLICKHOUSE_SERVER))
    throw new Error(
      `${CLICKHOUSE_SERVER} is missing: install it with "apt-get install -y clickhouse-server clickhouse-client" (scripts/test-prereqs.sh does)`,
    );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-clickhouse-'));
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'config.xml');
  // <yandex> is the root 18.16 knows; current releases still accept it.
  await writeFile(
    config,
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/error.log</errorlog></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
`,
  );
  const url = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | undefined;
  let stderr = '';

  const query = async (sql: string): Promise<string> => {
    const response = await fetch(`${url}/`, { method: 'POST', body: sql });
    const text = await response.text();
    if (!response.ok) throw new Error(`ClickHouse answered ${response.status}: ${text.slice(0, 300)}`);
    return text;
  };

  const start = async (): Promise<void> => {
    stderr = '';
    const proc = spawn(CLICKHOUSE_SERVER, [`--config-file=${config}`], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child = proc;
    try {
      await waitUntil('clickhouse-server', async () => (await query('SELECT 1')).trim() === '1', 60_000);
    } catch (error) {
      const log = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
      proc.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${stderr}\n${log.slice(-2000)}`);
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited(proc);
    clearTimeout(timer);
  };

  await start();
  return {
    url,
    tcpPort,
    query,
    stop,
    start,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------- Azurite

/** The well-known development account every Azurite accepts. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  connectionString: string;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<Azurite> {
  const bin = path.join(ROOT, 'node_modules', '.bin', 'azurite-blob');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npm ci" (azurite is a dev dependency)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-azurite-'));
  const port = await freePort();
  const child = spawn(
    bin,
    [
      '--location',
      dir,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--skipApiVersionCheck',
      '--silent',
    ],
    { stdio: 'ignore' },
  );
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      'azurite-blob',
      () =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.end();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        }),
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { connectionString, stop };
}

// ---------------------------------------------------------------------------------------------- Logs Ingestion

export const LA_RULE_ID = `dcr-${'0123456789abcdef'.repeat(2)}`;
export const LA_TOKEN = 'telltale-test-token';
/** The documented limit: 1 MB per call. */
export const LA_MAX_BYTES = 1_000_000;

/** A TokenCredential that hands out one static token, as a test double of DefaultAzureCredential would. */
export const staticCredential = {
  getToken: async () => ({ token: LA_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export interface IngestionRequest {
  stream: string;
  status: number;
  bytes: number;
  rows: number;
}

/** One scripted answer: a status for the next matching calls, with optional Retry-After seconds. */
export interface ScriptedFailure {
  status: number;
  retryAfterSeconds?: number;
  /** Only calls whose rows satisfy this (default: every call). */
  when?: (rows: Record<string, unknown>[]) => boolean;
  /** How many calls to fail (default: until cleared). */
  times?: number;
}

export interface LogsIngestionServer {
  /** The data collection endpoint to configure (https). */
  endpoint: string;
  /** PEM of the self-signed certificate, for the client's tlsOptions.ca. */
  ca: string;
  /** Rows accepted (204) per stream, in arrival order. */
  accepted: Map<string, Record<string, unknown>[]>;
  requests: IngestionRequest[];
  /** Answers the next calls with a failure; returns a function that removes the script. */
  fail(failure: ScriptedFailure): () => void;
  close(): Promise<void>;
}

function selfSignedCertificate(dir: string): { key: string; cert: string } {
  const result = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  if (result.error !== undefined || result.status !== 0)
    throw new Error(
      `openssl could not make a test certificate (install it with "apt-get install -y openssl"): ${result.error?.message ?? result.stderr}`,
    );
  return { key: path.join(dir, 'key.pem'), cert: path.join(dir, 'cert.pem') };
}

/**
 * The Logs Ingestion API as documented: POST {endpoint}/dataCollectionRules/{dcrImmutableId}/streams/{stream}
 * ?api-version=2023-01-01 with a bearer token and a gzip JSON array; 204 on success, 413 over 1 MB,
 * 429 with Retry-After and 5xx on demand. HTTPS, because the Azure client sends bearer tokens only over TLS.
 */
export async function startLogsIngestionServer(): Promise<LogsIngestionServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-la-'));
  const files = selfSignedCertificate(dir);
  const [key, cert] = [await readFile(files.key, 'utf8'), await readFile(files.cert, 'utf8')];
  const accepted = new Map<string, Record<string, unknown>[]>();
  const requests: IngestionRequest[] = [];
  const scripts = new Set<ScriptedFailure & { left: number }>();

  const server: Server = createHttpsServer({ key, cert }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, body?: object, headers: Record<string, string> = {}): void => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(body === undefined ? undefined : JSON.stringify(body));
      };
      const error = (status: number, code: string, message: string, headers?: Record<string, string>): void =>
        answer(status, { error: { code, message } }, headers);
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      const match = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
      if (request.method !== 'POST' || match === null) return error(404, 'NotFound', 'no such route');
      if (url.searchParams.get('api-version') !== '2023-01-01')
        return error(400, 'InvalidApiVersion', 'api-version must be 2023-01-01');
      if (request.headers.authorization !== `Bearer ${LA_TOKEN}`)
        return error(401, 'InvalidToken', 'missing or wrong bearer token');
      if (match[1] !== LA_RULE_ID) return error(404, 'InvalidDcrImmutableId', 'unknown data collection rule');
      const stream = decodeURIComponent(match[2]!);
      const raw = Buffer.concat(chunks);
      let body: Buffer;
      try {
        body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      } catch {
        return error(400, 'InvalidContentEncoding', 'body is not gzip');
      }
      const record = { stream, status: 0, bytes: body.length, rows: 0 };
      requests.push(record);
      if (body.length > LA_MAX_BYTES || raw.length > LA_MAX_BYTES) {
        record.status = 413;
        return error(413, 'ContentLengthLimitExceeded', `body is ${body.length} bytes, over 1 MB`);
      }
      let rows: unknown;
      try {
        rows = JSON.parse(body.toString('utf8'));
      } catch {
        record.status = 400;
        return error(400, 'InvalidJson', 'body is not JSON');
      }
      if (!Array.isArray(rows)) {
        record.status = 400;
        return error(400, 'InvalidPayload', 'body must be a JSON array');
      }
      record.rows = rows.length;
      for (const script of scripts) {
        if (script.when !== undefined && !script.when(rows as Record<string, unknown>[])) continue;
        script.left -= 1;
        if (script.left <= 0) scripts.delete(script);
        record.status = script.status;
        const headers: Record<string, string> =
          script.retryAfterSeconds === undefined ? {} : { 'retry-after': String(script.retryAfterSeconds) };
        return error(
          script.status,
          script.status === 429 ? 'TooManyRequests' : 'ServiceError',
          'scripted failure',
          headers,
        );
      }
      record.status = 204;
      const list = accepted.get(stream) ?? [];
      list.push(...(rows as Record<string, unknown>[]));
      accepted.set(stream, list);
      answer(204);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    ca: cert,
    accepted,
    requests,
    fail(failure) {
      const script = { ...failure, left: failure.times ?? Number.POSITIVE_INFINITY };
      scripts.add(script);
      return () => scripts.delete(script);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
