import { LIMITS, TelltaleError } from '@telltale/protocol';

/** An app allowed to send batches. */
export interface CollectorApp {
  /** Stable id stored with every event (`app`): 1-64 of a-z, A-Z, 0-9, `_`, `-`, starting with a letter or digit. */
  readonly id: string;
  /** Human name shown on dashboards. */
  readonly name: string;
  /** Public, write-only keys (16-128 of A-Z, a-z, 0-9, `_`, `-`); several allow rotation without downtime. */
  readonly ingestKeys: readonly string[];
  /** Secret server keys (same shape): server logs, source maps, attachments. Never shipped in an app. */
  readonly secretKeys: readonly string[];
}

export interface CollectorLimits {
  /** Largest request body as sent, in bytes (`TELLTALE_MAX_COMPRESSED_BYTES`, default LIMITS.maxCompressedBytes = 1 MiB). */
  readonly maxCompressedBytes: number;
  /** Largest body after gunzip, in bytes: beyond it is a zip bomb (`TELLTALE_MAX_DECOMPRESSED_BYTES`, default 10 MiB). */
  readonly maxDecompressedBytes: number;
}

export interface CollectorConfig {
  /** Apps and their ingest keys (`TELLTALE_APPS` as a JSON array; no default: at least one app is required). */
  readonly apps: readonly CollectorApp[];
  readonly limits: CollectorLimits;
  /** Trust X-Forwarded-* headers from a reverse proxy (`TELLTALE_TRUST_PROXY`, default false). */
  readonly trustProxy: boolean;
}

export interface CollectorOptions {
  apps?: ReadonlyArray<{
    id: string;
    name: string;
    ingestKeys: readonly string[];
    secretKeys?: readonly string[];
  }>;
  limits?: Partial<CollectorLimits>;
  trustProxy?: boolean;
}

const APP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const INGEST_KEY = /^[A-Za-z0-9_-]{16,128}$/;
// Far above any sane upload, far below what would let one request exhaust memory.
const MAX_LIMIT_BYTES = 1024 * 1024 * 1024;

function invalid(field: string, problem: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: ${problem}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknownKeys(value: Record<string, unknown>, known: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      invalid(`${field}${key}`, `unknown setting; expected one of ${known.join(', ')}`);
  }
}

function resolveApps(raw: unknown, source: string): CollectorApp[] {
  const howToFix = `pass apps: [{ id, name, ingestKeys: [key] }] or set TELLTALE_APPS to that JSON array`;
  if (!Array.isArray(raw) || raw.length === 0) invalid(source, `at least one app is required; ${howToFix}`);
  const ids = new Set<string>();
  const keyOwners = new Map<string, string>();
  return raw.map((entry: unknown, i) => {
    const field = `${source}[${i}]`;
    if (!isRecord(entry)) invalid(field, `must be an object { id, name, ingestKeys }`);
    rejectUnknownKeys(entry, ['id', 'name', 'ingestKeys', 'secretKeys'], `${field}.`);
    const { id, name, ingestKeys, secretKeys = [] } = entry;
    if (typeof id !== 'string' || !APP_ID.test(id)) {
      invalid(
        `${field}.id`,
        'must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or digit',
      );
    }
    if (ids.has(id)) invalid(`${field}.id`, `"${id}" is used by two apps; give each app its own id`);
    ids.add(id);
    if (typeof name !== 'string' || name.trim() === '' || name.length > LIMITS.maxIdLength) {
      invalid(`${field}.name`, `must be a non-empty string of at most ${LIMITS.maxIdLength} characters`);
    }
    if (!Array.isArray(ingestKeys) || ingestKeys.length === 0) {
      invalid(`${field}.ingestKeys`, 'must list at least one key, e.g. ["tt_live_0123456789abcdef"]');
    }
    if (!Array.isArray(secretKeys)) invalid(`${field}.secretKeys`, 'must be a list of keys');
    const checkKeys = (list: unknown[], kind: 'ingestKeys' | 'secretKeys'): string[] =>
      list.map((key: unknown, k) => {
        // Never echo the key itself: config errors end up in logs.
        if (typeof key !== 'string' || !INGEST_KEY.test(key)) {
          invalid(`${field}.${kind}[${k}]`, 'must be 16-128 characters of A-Z, a-z, 0-9, "_" or "-"');
        }
        const owner = keyOwners.get(key);
        if (owner !== undefined)
          invalid(`${field}.${kind}[${k}]`, `the same key is already given to ${owner}; keys must be unique`);
        keyOwners.set(key, `app "${id}"`);
        return key;
      });
    const keys = checkKeys(ingestKeys, 'ingestKeys');
    const secrets = checkKeys(secretKeys, 'secretKeys');
    return Object.freeze({ id, name, ingestKeys: Object.freeze(keys), secretKeys: Object.freeze(secrets) });
  });
}

function resolveBytes(
  option: unknown,
  env: string | undefined,
  envName: string,
  fallback: number,
  field: string,
): number {
  const raw: unknown = option ?? (env === undefined || env === '' ? undefined : Number(env));
  if (raw === undefined) return fallback;
  const name = option === undefined ? envName : field;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > MAX_LIMIT_BYTES) {
    return invalid(
      name,
      `must be a whole number of bytes from 1 to ${MAX_LIMIT_BYTES}, got ${String(option ?? env)}`,
    );
  }
  return raw;
}

function resolveBoolean(option: unknown, env: string | undefined, envName: string, field: string): boolean {
  if (option !== undefined) {
    if (typeof option !== 'boolean') return invalid(field, 'must be true or false');
    return option;
  }
  if (env === undefined || env === '') return false;
  if (['1', 'true', 'yes'].includes(env.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(env.toLowerCase())) return false;
  return invalid(envName, `must be true or false, got "${env}"`);
}

/**
 * Explicit options win over the environment (`TELLTALE_*`), the environment over defaults.
 * Validated once at start-up and frozen; a bad field stops start-up naming the field and the fix.
 */
export function resolveCollectorConfig(
  options: CollectorOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): CollectorConfig {
  if (!isRecord(options)) invalid('options', 'must be an object');
  rejectUnknownKeys(options, ['apps', 'limits', 'trustProxy'], '');

  let apps: CollectorApp[];
  if (options.apps !== undefined) {
    apps = resolveApps(options.apps, 'apps');
  } else {
    let parsed: unknown;
    try {
      parsed = env.TELLTALE_APPS === undefined ? undefined : JSON.parse(env.TELLTALE_APPS);
    } catch {
      invalid(
        'TELLTALE_APPS',
        'is not valid JSON; expected [{"id":"web","name":"Web app","ingestKeys":["..."]}]',
      );
    }
    apps = resolveApps(parsed, env.TELLTALE_APPS === undefined ? 'apps' : 'TELLTALE_APPS');
  }

  const limitOptions = options.limits ?? {};
  if (!isRecord(limitOptions))
    invalid('limits', 'must be an object { maxCompressedBytes, maxDecompressedBytes }');
  rejectUnknownKeys(limitOptions, ['maxCompressedBytes', 'maxDecompressedBytes'], 'limits.');
  const maxCompressedBytes = resolveBytes(
    limitOptions.maxCompressedBytes,
    env.TELLTALE_MAX_COMPRESSED_BYTES,
    'TELLTALE_MAX_COMPRESSED_BYTES',
    LIMITS.maxCompressedBytes,
    'limits.maxCompressedBytes',
  );
  const maxDecompressedBytes = resolveBytes(
    limitOptions.maxDecompressedBytes,
    env.TELLTALE_MAX_DECOMPRESSED_BYTES,
    'TELLTALE_MAX_DECOMPRESSED_BYTES',
    LIMITS.maxDecompressedBytes,
    'limits.maxDecompressedBytes',
  );
  // A plain (identity) body is its own decompressed form, so it must fit both limits.
  if (maxDecompressedBytes < maxCompressedBytes) {
    invalid(
      'limits.maxDecompressedBytes',
      `must be at least limits.maxCompressedBytes (${maxCompressedBytes})`,
    );
  }

  const trustProxy = resolveBoolean(
    options.trustProxy,
    env.TELLTALE_TRUST_PROXY,
    'TELLTALE_TRUST_PROXY',
    'trustProxy',
  );

  return Object.freeze({
    apps: Object.freeze(apps),
    limits: Object.freeze({ maxCompressedBytes, maxDecompressedBytes }),
    trustProxy,
  });
}
