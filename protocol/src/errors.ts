/**
 * Every error code a Telltale user can see, in one registry (docs/errors.md describes each).
 * Codes are stable and never reused.
 */
export const ERROR_CODES = {
  TELLTALE_ERR_UNAUTHORIZED: { status: 401, message: 'missing or unknown ingest key' },
  TELLTALE_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body is over the compressed size limit' },
  TELLTALE_ERR_DECOMPRESSED_TOO_LARGE: {
    status: 413,
    message: 'request body is over the decompressed size limit',
  },
  TELLTALE_ERR_BODY_TOO_COMPLEX: {
    status: 413,
    message: 'request body holds more values or lines than the collector parses in one request',
  },
  TELLTALE_ERR_BUSY: { status: 503, message: 'the collector is busy decoding other bodies; retry later' },
  TELLTALE_ERR_UNSUPPORTED_ENCODING: { status: 415, message: 'unsupported Content-Encoding' },
  TELLTALE_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported Content-Type' },
  TELLTALE_ERR_BAD_GZIP: { status: 400, message: 'body is not valid gzip' },
  TELLTALE_ERR_INVALID_JSON: { status: 400, message: 'body is not valid JSON' },
  TELLTALE_ERR_INVALID_BATCH: { status: 400, message: 'batch does not match protocol v1' },
  TELLTALE_ERR_INVALID_QUERY: { status: 400, message: 'query parameter is invalid' },
  TELLTALE_ERR_NOT_FOUND: { status: 404, message: 'no such resource' },
  TELLTALE_ERR_STORAGE: { status: 503, message: 'the batch could not be stored; retry later' },
  TELLTALE_ERR_INVALID_CONFIG: { status: 0, message: 'configuration is invalid' },
  TELLTALE_ERR_ORIGIN_NOT_ALLOWED: {
    status: 403,
    message: "this app does not accept requests from this page's origin",
  },
  TELLTALE_ERR_RATE_LIMITED: { status: 429, message: 'too many requests; retry after the Retry-After delay' },
  TELLTALE_ERR_SPOOL_FULL: { status: 503, message: 'the collector is at its disk cap; retry later' },
  TELLTALE_ERR_INVALID_LOGS: { status: 400, message: 'server log lines do not match protocol v1' },
  TELLTALE_ERR_INVALID_ATTACHMENT: { status: 400, message: 'attachment upload is invalid' },
  TELLTALE_ERR_INVALID_SOURCEMAP: { status: 400, message: 'source map upload is invalid' },
  TELLTALE_ERR_INVALID_RULE: { status: 400, message: 'mute rule is invalid' },
  TELLTALE_ERR_CROSS_SITE: { status: 403, message: 'cross-site request refused' },
  TELLTALE_ERR_UNAUTHENTICATED: {
    status: 401,
    message: 'sign in, or send an API token as Authorization: Bearer',
  },
  TELLTALE_ERR_FORBIDDEN: { status: 403, message: 'viewers can read; only admins change state' },
  TELLTALE_ERR_HOST_NOT_ALLOWED: {
    status: 421,
    message: 'this Host is not TELLTALE_PUBLIC_URL or a loopback name',
  },
  TELLTALE_ERR_SSO_FAILED: { status: 400, message: 'single sign-on failed; start the login again' },
  TELLTALE_ERR_SSO_DOMAIN: { status: 403, message: "this email's domain is not allowed to sign in" },
  TELLTALE_ERR_SSO_EMAIL: { status: 403, message: 'the identity provider gave no verified email' },
  TELLTALE_ERR_SSO_UNAVAILABLE: {
    status: 503,
    message: 'the identity provider cannot be reached; retry later',
  },
  TELLTALE_ERR_QUOTA_EXCEEDED: {
    status: 429,
    message: 'this app is over one of its quotas; retry after the Retry-After delay',
  },
  TELLTALE_ERR_CLIENT_QUOTA_EXCEEDED: {
    status: 429,
    message:
      "this client (address or session) is over its share of the app's quota for public-key requests; retry after the Retry-After delay",
  },
  TELLTALE_ERR_INVALID_ENVELOPE: {
    status: 400,
    message: 'Sentry envelope is malformed (a header line, an item length or a newline is wrong)',
  },
  TELLTALE_ERR_ITEM_TOO_LARGE: { status: 413, message: 'a Sentry event or log item is over 1 MB' },
  TELLTALE_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'request headers are over the size limit' },
  TELLTALE_ERR_REQUEST_TIMEOUT: {
    status: 408,
    message: 'the request did not arrive within the time limit; the connection is closed',
  },
  TELLTALE_ERR_BAD_REQUEST: { status: 400, message: 'the request is not valid HTTP' },
  TELLTALE_ERR_INTERNAL: { status: 500, message: 'unexpected server error; this is a bug, not your data' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body of every 4xx/5xx answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; limit?: number; field?: string };
}

export function errorBody(
  code: ErrorCode,
  detail?: { message?: string; limit?: number; field?: string },
): ErrorBody {
  const body: ErrorBody = { error: { code, message: detail?.message ?? ERROR_CODES[code].message } };
  if (detail?.limit !== undefined) body.error.limit = detail.limit;
  if (detail?.field !== undefined) body.error.field = detail.field;
  return body;
}

/** An error with a registered code; thrown only at start-up and in CLIs, never on a hot path. */
export class TelltaleError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'TelltaleError';
  }
}
