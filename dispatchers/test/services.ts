import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { boundPort } from '../../test-support/ports.js';

/**
 * Real services for the dispatchers' integration tests. ClickHouse and Azurite live in test-support/
 * (shared with the other packages' tests) and are re-exported here for the tests that import them
 * from this path; the contract server of the Azure Logs Ingestion API is the dispatchers' own.
 */
export {
  CLICKHOUSE_CLIENT,
  CLICKHOUSE_SERVER,
  startClickHouse,
  type ClickHouseServer,
} from '../../test-support/clickhouse.js';
export { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../../test-support/azurite.js';

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
  const port = boundPort(server);
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
