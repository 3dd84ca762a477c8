import path from 'node:path';
import { TelltaleError } from '@telltale/protocol';

/** What `telltaleDestination(options)` and `pino.transport({ target: '@telltale/node/pino', options })` take. */
export interface TransportOptions {
  /** The collector's base URL (`http://127.0.0.1:8080`); lines go to `<endpoint>/v1/logs`. Required. */
  endpoint: string;
  /** The app's secret key (`tt_secret_…`), sent as `x-telltale-key`. Required. */
  key: string;
  /** The local buffer's directory on the app's machine (0700, files 0600), one per process. Required. */
  dir: string;
  /** The `service` of every line. Default: the logger's `name`, else `app`. */
  service?: string;
  release?: string;
  environment?: string;
  /** Buffer cap in bytes: past it the oldest lines are dropped (counted). Default 64 MiB, at least 1 MiB. */
  maxBufferBytes?: number;
  /** Most lines per request to the collector, 1–1000. Default 1000. */
  batchLines?: number;
}

export interface TransportConfig {
  logsUrl: string;
  key: string;
  dir: string;
  service: string | undefined;
  release: string | undefined;
  environment: string | undefined;
  maxBufferBytes: number;
  batchLines: number;
}

const MIB = 1024 * 1024;
export const DEFAULT_MAX_BUFFER_BYTES = 64 * MIB;
const MAX_LINES = 1000; // the collector's MAX_LOG_LINES
const MAX_ID = 200; // LIMITS.maxIdLength

type Invalid = (field: string, fix: string) => never;

function optionalId(options: Record<string, unknown>, field: string, invalid: Invalid): string | undefined {
  const value = options[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > MAX_ID)
    invalid(field, `must be a non-empty string of at most ${MAX_ID} characters`);
  return value;
}

function positiveInteger(
  options: Record<string, unknown>,
  field: string,
  fallback: number,
  min: number,
  max: number,
  invalid: Invalid,
): number {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    invalid(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return value;
}

/** Validated once when the transport starts; an invalid option stops it with the field and the fix. */
export function resolveTransportConfig(input: unknown, who = '@telltale/node/pino'): TransportConfig {
  const invalid: Invalid = (field, fix) => {
    throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${who} options.${field}: ${fix}`);
  };
  const options = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const { endpoint, key, dir } = options;
  if (typeof endpoint !== 'string' || endpoint === '')
    invalid('endpoint', "set it to the collector's URL, e.g. http://127.0.0.1:8080");
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    invalid('endpoint', `"${endpoint.slice(0, 100)}" is not a URL; e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    invalid('endpoint', 'must be an http: or https: URL');
  if (url.search !== '' || url.username !== '' || url.password !== '')
    invalid('endpoint', 'must not carry a query string or credentials; pass the secret key as options.key');
  let base = url.href;
  while (base.endsWith('/')) base = base.slice(0, -1);
  const logsUrl = base.endsWith('/v1/logs') ? base : `${base}/v1/logs`;
  if (typeof key !== 'string' || key.trim() === '' || key.length > 512 || /\s/.test(key))
    invalid('key', "set it to the app's secret key (telltale apps add prints it)");
  if (typeof dir !== 'string' || dir === '')
    invalid('dir', 'set it to a directory on local disk for the buffer, e.g. ./.telltale-buffer');
  return Object.freeze({
    logsUrl,
    key,
    dir: path.resolve(dir),
    service: optionalId(options, 'service', invalid),
    release: optionalId(options, 'release', invalid),
    environment: optionalId(options, 'environment', invalid),
    maxBufferBytes: positiveInteger(
      options,
      'maxBufferBytes',
      DEFAULT_MAX_BUFFER_BYTES,
      MIB,
      2 ** 40,
      invalid,
    ),
    batchLines: positiveInteger(options, 'batchLines', MAX_LINES, 1, MAX_LINES, invalid),
  });
}
