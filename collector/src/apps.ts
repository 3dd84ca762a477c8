import { createHash } from 'node:crypto';
import { LIMITS, parseWebhookDestinations, invalidConfig as invalid } from '@telltale/protocol';

/** An app allowed to send data. */
export interface CollectorApp {
  /** Stable id stored with every event (`app`): 1-64 of a-z, A-Z, 0-9, `_`, `-`, starting with a letter or digit. */
  readonly id: string;
  /** Human name shown on dashboards. */
  readonly name: string;
  /** The numeric id Sentry's SDKs need in a DSN (`…/<projectId>`); unique across apps. */
  readonly projectId: number;
  /** Public, write-only keys (16-128 of A-Z, a-z, 0-9, `_`, `-`); two at once allow rotation without downtime. */
  readonly ingestKeys: readonly string[];
  /** Secret server keys (same shape): server logs, source maps, attachments. Never shipped in an app. */
  readonly secretKeys: readonly string[];
  /**
   * Origins (`https://app.example.com`) whose pages may send with the ingest keys; a request from any
   * other page is refused (403). Empty: any origin. Requests without an Origin header (servers,
   * React Native) are not browser pages and are never refused for it.
   */
  readonly allowedOrigins: readonly string[];
  /** SHA-256 (hex) of keys taken out of service: answered 401 "revoked" instead of "unknown". */
  readonly revokedKeys: readonly string[];
  /** This app's own quotas, each replacing the collector-wide default (`config.quotas`); 0 = off. */
  readonly quotas?: AppQuotas;
}

/** Per-app quota overrides (`telltale apps quota <id> …`); the names of CollectorQuotas. */
export interface AppQuotas {
  readonly eventsPerMinute?: number;
  readonly bytesPerDay?: number;
  readonly attachmentsPerSession?: number;
  readonly attachmentsPerDay?: number;
  readonly attachmentBytesPerDay?: number;
  // Budgets of one client of the public ingest key (public-budgets.ts); a secret key is not held to them.
  readonly bytesPerAddressPerHour?: number;
  readonly bytesPerSessionPerDay?: number;
  readonly attachmentsPerAddressPerDay?: number;
  readonly attachmentBytesPerAddressPerDay?: number;
}

export const APP_QUOTA_NAMES = [
  'eventsPerMinute',
  'bytesPerDay',
  'attachmentsPerSession',
  'attachmentsPerDay',
  'attachmentBytesPerDay',
] as const satisfies ReadonlyArray<keyof AppQuotas>;

/**
 * Per-client budgets of requests made with an app's public ingest key: by client address (IPv6 by
 * its /64) and by session id, so no one sender can use up the app's day. Set like the quotas.
 */
export const PUBLIC_KEY_BUDGET_NAMES = [
  'bytesPerAddressPerHour',
  'bytesPerSessionPerDay',
  'attachmentsPerAddressPerDay',
  'attachmentBytesPerAddressPerDay',
] as const satisfies ReadonlyArray<keyof AppQuotas>;

/** Every name an app's `quotas` object may hold: its quotas and its public-key client budgets. */
export const APP_QUOTA_FIELDS = [...APP_QUOTA_NAMES, ...PUBLIC_KEY_BUDGET_NAMES] as const;

/** An app as written in options, `TELLTALE_APPS` or `telltale.config.json`. */
export interface CollectorAppOptions {
  id: string;
  name: string;
  /** Default: a stable number derived from `id` (defaultProjectId); `telltale apps add` writes one. */
  projectId?: number;
  ingestKeys: readonly string[];
  secretKeys?: readonly string[];
  allowedOrigins?: readonly string[];
  revokedKeys?: readonly string[];
  quotas?: AppQuotas;
  /** Alert webhooks of this app (`[{ type: 'json' | 'slack' | 'teams', url, secret? }]`): the dispatchers send them. */
  webhooks?: unknown;
}

const APP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const KEY_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
/** What a DSN can carry as its key: Sentry's DSN parser takes `\w+` only (no `-`). */
export const DSN_KEY_PATTERN = /^\w{16,128}$/;
/** Largest project id: nine digits keep it a plain number everywhere (SDKs, URLs, JSON). */
export const MAX_PROJECT_ID = 999_999_999;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const APP_FIELDS = [
  'id',
  'name',
  'projectId',
  'ingestKeys',
  'secretKeys',
  'allowedOrigins',
  'revokedKeys',
  'quotas',
  'webhooks',
] as const;

/**
 * The project id of an app whose config names none: stable for its id (apps written before project
 * ids existed keep one DSN across restarts), and above the small numbers `telltale apps add` hands out.
 */
export function defaultProjectId(id: string): number {
  const n = createHash('sha256').update(id).digest().readUInt32BE(0);
  return 100_000_000 + (n % 900_000_000);
}

/** How revoked keys are remembered: never the key itself. */
export const fingerprintKey = (key: string): string => createHash('sha256').update(key).digest('hex');

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An app's `quotas` object: known names (quotas and public-key budgets), whole numbers ≥ 0. */
function checkQuotas(raw: unknown, field: string): AppQuotas | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) invalid(field, `must be an object { ${APP_QUOTA_FIELDS.join(', ')} }`);
  const quotas: Record<string, number> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!(APP_QUOTA_FIELDS as readonly string[]).includes(name))
      invalid(`${field}.${name}`, `unknown quota; expected one of ${APP_QUOTA_FIELDS.join(', ')}`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      invalid(`${field}.${name}`, 'must be a whole number, 0 or more (0 = off for this app)');
    quotas[name] = value;
  }
  return Object.freeze(quotas);
}

/** `https://app.example.com` (scheme, host, optional port; no path), or undefined when it is not one. */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin === value.replace(/\/$/, '').toLowerCase() ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Validates a list of apps (ids unique, keys well-formed and unique across all apps) and freezes it.
 * `source` prefixes field names in messages, e.g. `telltale.config.json apps`.
 */
export function resolveApps(raw: unknown, source: string, howToFix: string): CollectorApp[] {
  if (!Array.isArray(raw) || raw.length === 0) invalid(source, `at least one app is required; ${howToFix}`);
  const ids = new Set<string>();
  const projects = new Map<number, string>();
  const keyOwners = new Map<string, string>();
  return raw.map((entry: unknown, i) => {
    const field = `${source}[${i}]`;
    if (!isRecord(entry)) invalid(field, 'must be an object { id, name, ingestKeys }');
    for (const key of Object.keys(entry)) {
      if (!(APP_FIELDS as readonly string[]).includes(key))
        invalid(`${field}.${key}`, `unknown setting; expected one of ${APP_FIELDS.join(', ')}`);
    }
    const {
      id,
      name,
      projectId,
      ingestKeys,
      secretKeys = [],
      allowedOrigins = [],
      revokedKeys = [],
      quotas,
      webhooks,
    } = entry;
    // Checked here so `telltale apps` and a reload refuse a bad one; the dispatchers send them.
    parseWebhookDestinations(webhooks, `${field}.webhooks`);
    if (typeof id !== 'string' || !APP_ID.test(id)) {
      invalid(
        `${field}.id`,
        'must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or digit',
      );
    }
    if (ids.has(id)) invalid(`${field}.id`, `"${id}" is used by two apps; give each app its own id`);
    ids.add(id);
    if (typeof name !== 'string' || name.trim() === '' || name.length > LIMITS.maxIdLength)
      invalid(`${field}.name`, `must be a non-empty string of at most ${LIMITS.maxIdLength} characters`);
    if (
      projectId !== undefined &&
      (typeof projectId !== 'number' ||
        !Number.isSafeInteger(projectId) ||
        projectId < 1 ||
        projectId > MAX_PROJECT_ID)
    )
      invalid(
        `${field}.projectId`,
        `must be a whole number from 1 to ${MAX_PROJECT_ID} (the DSN's project id)`,
      );
    const project = (projectId as number | undefined) ?? defaultProjectId(id);
    const projectOwner = projects.get(project);
    if (projectOwner !== undefined)
      invalid(
        `${field}.projectId`,
        `${project} is already ${projectOwner}'s; give each app its own projectId`,
      );
    projects.set(project, `app "${id}"`);
    if (!Array.isArray(ingestKeys) || ingestKeys.length === 0)
      invalid(`${field}.ingestKeys`, 'must list at least one key, e.g. ["tt_live_0123456789abcdef"]');
    for (const [list, kind] of [
      [secretKeys, 'secretKeys'],
      [allowedOrigins, 'allowedOrigins'],
      [revokedKeys, 'revokedKeys'],
    ] as const) {
      if (!Array.isArray(list)) invalid(`${field}.${kind}`, 'must be a list');
    }
    const checkKeys = (list: unknown[], kind: 'ingestKeys' | 'secretKeys'): string[] =>
      list.map((key: unknown, k) => {
        // Never echo the key itself: config errors end up in logs.
        if (typeof key !== 'string' || !KEY_PATTERN.test(key))
          invalid(`${field}.${kind}[${k}]`, 'must be 16-128 characters of A-Z, a-z, 0-9, "_" or "-"');
        const owner = keyOwners.get(key);
        if (owner !== undefined)
          invalid(`${field}.${kind}[${k}]`, `the same key is already given to ${owner}; keys must be unique`);
        keyOwners.set(key, `app "${id}"`);
        return key;
      });
    const keys = checkKeys(ingestKeys, 'ingestKeys');
    const secrets = checkKeys(secretKeys as unknown[], 'secretKeys');
    const origins = (allowedOrigins as unknown[]).map((origin, k) => {
      const normalized = typeof origin === 'string' ? normalizeOrigin(origin) : undefined;
      if (normalized === undefined)
        invalid(
          `${field}.allowedOrigins[${k}]`,
          'must be an origin like "https://app.example.com" (scheme, host, optional port; no path)',
        );
      return normalized;
    });
    const revoked = (revokedKeys as unknown[]).map((hash, k) => {
      if (typeof hash !== 'string' || !SHA256_HEX.test(hash))
        invalid(`${field}.revokedKeys[${k}]`, 'must be the SHA-256 of a key, 64 lowercase hex digits');
      return hash;
    });
    return Object.freeze({
      id,
      name,
      projectId: project,
      ingestKeys: Object.freeze(keys),
      secretKeys: Object.freeze(secrets),
      allowedOrigins: Object.freeze([...new Set(origins)]),
      revokedKeys: Object.freeze(revoked),
      ...(quotas !== undefined ? { quotas: checkQuotas(quotas, `${field}.quotas`) } : {}),
    });
  });
}

export type KeyKind = 'ingest' | 'secret';

export type KeyLookup =
  | { status: 'active'; app: CollectorApp; kind: KeyKind }
  | { status: 'revoked'; app: CollectorApp }
  | { status: 'unknown' };

/** The keys of every app, replaceable while running (a reloaded config file). */
export interface KeyRegistry {
  lookup(key: string): KeyLookup;
  app(id: string): CollectorApp | undefined;
  apps(): readonly CollectorApp[];
  /** Swaps in a new, already validated, list of apps. */
  replace(apps: readonly CollectorApp[]): void;
}

export function createKeyRegistry(initial: readonly CollectorApp[]): KeyRegistry {
  let apps = initial;
  let active = new Map<string, { app: CollectorApp; kind: KeyKind }>();
  let revoked = new Map<string, CollectorApp>();
  let byId = new Map<string, CollectorApp>();
  const index = (list: readonly CollectorApp[]): void => {
    const nextActive = new Map<string, { app: CollectorApp; kind: KeyKind }>();
    const nextRevoked = new Map<string, CollectorApp>();
    for (const app of list) {
      for (const key of app.ingestKeys) nextActive.set(key, { app, kind: 'ingest' });
      for (const key of app.secretKeys) nextActive.set(key, { app, kind: 'secret' });
      for (const hash of app.revokedKeys) nextRevoked.set(hash, app);
    }
    apps = list;
    active = nextActive;
    revoked = nextRevoked;
    byId = new Map(list.map((app) => [app.id, app]));
  };
  index(initial);
  return {
    lookup(key) {
      const hit = active.get(key);
      if (hit !== undefined) return { status: 'active', ...hit };
      // Hashing only on the refusal path: a valid key costs one Map lookup.
      const owner = revoked.size > 0 && KEY_PATTERN.test(key) ? revoked.get(fingerprintKey(key)) : undefined;
      return owner === undefined ? { status: 'unknown' } : { status: 'revoked', app: owner };
    },
    app: (id) => byId.get(id),
    apps: () => apps,
    replace: index,
  };
}
