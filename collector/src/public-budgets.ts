import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { addressKey, intSetting } from '@telltale/protocol';
import type { AppQuotas, CollectorApp, PUBLIC_KEY_BUDGET_NAMES } from './apps.js';
import type { AdmitResult, QuotaRefusal } from './quotas.js';

export type PublicKeyBudgetName = (typeof PUBLIC_KEY_BUDGET_NAMES)[number];
export type PublicKeyBudgets = Readonly<Record<PublicKeyBudgetName, number>>;

const MiB = 1024 * 1024;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The defaults, sized from what the browser SDK can send (browser-sdk/src/core/client.ts): its rate
 * limit lets one browser send bursts of 60 events, then one a second, so at most 60 + 3,600 = 3,660
 * events an hour; a large event (a stack and 20 breadcrumbs) is about 4 KB stored.
 * - bytesPerAddressPerHour 16 MiB: 3,660 × 4 KB = 14.3 MiB, so even one browser at the SDK's own
 *   ceiling for a whole hour stays under it (a typical user sends a few hundred KB an hour, so ~40
 *   of them fit behind one NAT). One address flat out all day takes 24 × 16 MiB = 384 MiB, under a
 *   fifth of the 2 GiB bytesPerDay default, where 270 compressible requests used to take all of it.
 * - bytesPerSessionPerDay 64 MiB (1/32 of the app's day): a very busy user, 10 large events a minute
 *   around the clock, stores 14,400 × 4 KB = 56 MiB; sessions end after 30 idle minutes anyway.
 * - attachmentsPerAddressPerDay 20: each session may file 3 bug reports a day (attachmentsPerSession),
 *   so 6 people behind one address still can; a sender inventing sessions gets 20, not 1,000.
 * - attachmentBytesPerAddressPerDay 16 MiB: 20 reports of 800 KB gzip (reportBug caps a report at
 *   1 MiB of JSON before gzip); 1/16 of the 256 MiB attachmentBytesPerDay default.
 */
export const DEFAULT_PUBLIC_KEY_BUDGETS: PublicKeyBudgets = Object.freeze({
  bytesPerAddressPerHour: 16 * MiB,
  bytesPerSessionPerDay: 64 * MiB,
  attachmentsPerAddressPerDay: 20,
  attachmentBytesPerAddressPerDay: 16 * MiB,
});

/** Most counters each budget map keeps within its window; the least recently used go first. */
export const MAX_BUDGET_KEYS = 100_000;

const budget = (env: string, fallback: number, unit: string) =>
  intSetting(env, 0, 2 ** 50, fallback, `${unit} (0 = off)`);

/** Their environment variables, part of COLLECTOR_SETTINGS (config.ts). */
export const PUBLIC_KEY_BUDGET_SETTINGS = {
  'quotas.bytesPerAddressPerHour': budget(
    'TELLTALE_QUOTA_BYTES_PER_ADDRESS_PER_HOUR',
    DEFAULT_PUBLIC_KEY_BUDGETS.bytesPerAddressPerHour,
    'bytes',
  ),
  'quotas.bytesPerSessionPerDay': budget(
    'TELLTALE_QUOTA_BYTES_PER_SESSION_PER_DAY',
    DEFAULT_PUBLIC_KEY_BUDGETS.bytesPerSessionPerDay,
    'bytes',
  ),
  'quotas.attachmentsPerAddressPerDay': budget(
    'TELLTALE_QUOTA_ATTACHMENTS_PER_ADDRESS_PER_DAY',
    DEFAULT_PUBLIC_KEY_BUDGETS.attachmentsPerAddressPerDay,
    'items',
  ),
  'quotas.attachmentBytesPerAddressPerDay': budget(
    'TELLTALE_QUOTA_ATTACHMENT_BYTES_PER_ADDRESS_PER_DAY',
    DEFAULT_PUBLIC_KEY_BUDGETS.attachmentBytesPerAddressPerDay,
    'bytes',
  ),
  'limits.maxPublicDecompressedBytes': intSetting(
    'TELLTALE_MAX_PUBLIC_DECOMPRESSED_BYTES',
    1,
    1024 * MiB,
    undefined,
    'bytes',
  ),
} as const;

/** Where a request made with a public key comes from. */
export interface PublicClient {
  /** The client address as the rate limiter sees it (request.ip: X-Forwarded-For only from trusted proxies). */
  address: string;
  /** The batch's session id, when the request has one. */
  session?: string;
  /** Where the first refusal of a client in a window is reported (the request's logger). */
  log?: { warn(details: object, message: string): void };
}

interface Tally {
  bytes: number;
  count: number;
  /** The refusal of this key in this window was logged. */
  warned: boolean;
}

/** Tallies of one fixed window (clock hour, UTC day): the whole map is dropped when the window turns. */
function windowed(spanMs: number) {
  let window = -1;
  let tallies = new LRUCache<string, Tally>({ max: MAX_BUDGET_KEYS });
  return {
    at(time: number): { window: number; tallies: LRUCache<string, Tally> } {
      const current = Math.floor(time / spanMs);
      if (current !== window) {
        // Stale keys go all at once, without a scan.
        window = current;
        tallies = new LRUCache<string, Tally>({ max: MAX_BUDGET_KEYS });
      }
      return { window, tallies };
    },
    end: (time: number): number => (Math.floor(time / spanMs) + 1) * spanMs,
    get size() {
      return tallies.size;
    },
  };
}

const WHAT: Record<PublicKeyBudgetName, string> = {
  bytesPerAddressPerHour: 'stored bytes per client address per clock hour',
  bytesPerSessionPerDay: 'stored bytes per session per day (UTC)',
  attachmentsPerAddressPerDay: 'attachments per client address per day (UTC)',
  attachmentBytesPerAddressPerDay: 'attachment bytes per client address per day (UTC)',
};
const REASONS: Record<PublicKeyBudgetName, string> = {
  bytesPerAddressPerHour: 'budget_bytes_per_address_per_hour',
  bytesPerSessionPerDay: 'budget_bytes_per_session_per_day',
  attachmentsPerAddressPerDay: 'budget_attachments_per_address_per_day',
  attachmentBytesPerAddressPerDay: 'budget_attachment_bytes_per_address_per_day',
};

export interface PublicBudgetLedger {
  /** Stored bytes of one request: fit the client's address and session budgets, or nothing is counted. */
  admitBytes(app: CollectorApp, client: PublicClient, bytes: number): AdmitResult;
  /** One attachment of `bytes` from the client's address. */
  admitAttachment(app: CollectorApp, client: PublicClient, bytes: number): AdmitResult;
  /** Counters held now, by map (for tests and memory checks). */
  sizes(): { addressBytes: number; sessionBytes: number; addressAttachments: number };
}

/** Budgets per client of the public keys, in bounded memory; `limitOf` reads the app's value or the default (0 = off). */
export function createPublicBudgets(
  limitOf: (app: CollectorApp, name: keyof AppQuotas) => number,
  now: () => number = Date.now,
): PublicBudgetLedger {
  const addressBytes = windowed(HOUR_MS);
  const sessionBytes = windowed(DAY_MS);
  const addressAttachments = windowed(DAY_MS);

  const tallyOf = (tallies: LRUCache<string, Tally>, key: string): Tally => {
    let tally = tallies.get(key);
    if (tally === undefined) {
      tally = { bytes: 0, count: 0, warned: false };
      tallies.set(key, tally);
    }
    return tally;
  };
  const refuse = (
    app: CollectorApp,
    name: PublicKeyBudgetName,
    tallies: LRUCache<string, Tally>,
    key: string,
    end: number,
    at: number,
    client: PublicClient,
  ): AdmitResult => {
    const limit = limitOf(app, name);
    const tally = tallyOf(tallies, key);
    if (!tally.warned) {
      tally.warned = true;
      // A short hash names the client: no address or session id in the log.
      const fingerprint = createHash('sha256').update(key).digest('hex').slice(0, 12);
      client.log?.warn(
        { app: app.id, budget: name, limit, client: fingerprint },
        'collector: a client of the public ingest key is over its budget; refused until the window ends (logged once per client and window)',
      );
    }
    const refusal: QuotaRefusal = {
      quota: name,
      limit,
      retryAfterSeconds: Math.max(1, Math.ceil((end - at) / 1000)),
      reason: REASONS[name],
      code: 'TELLTALE_ERR_CLIENT_QUOTA_EXCEEDED',
      message: `this client is over app "${app.id}"'s budget ${name} (${limit} ${WHAT[name]}) for requests with its public ingest key; this request was not stored, retry after the Retry-After delay`,
    };
    return { ok: false, refusal };
  };

  /** A byte budget a request is held to, with its window's tallies and the request's key; none when off. */
  const heldTo = (
    app: CollectorApp,
    name: 'bytesPerAddressPerHour' | 'bytesPerSessionPerDay',
    of: ReturnType<typeof windowed>,
    client: string,
    at: number,
  ) => {
    const limit = limitOf(app, name);
    return limit > 0 ? [{ name, of, limit, key: `${app.id}\n${client}`, ...of.at(at) }] : [];
  };

  return {
    admitBytes(app, client, bytes) {
      const at = now();
      // The address's hourly budget, then the session's daily one (a request without a session has none).
      const budgets = [
        ...heldTo(app, 'bytesPerAddressPerHour', addressBytes, addressKey(client.address), at),
        ...(client.session === undefined
          ? []
          : heldTo(app, 'bytesPerSessionPerDay', sessionBytes, client.session, at)),
      ];
      if (budgets.length === 0) return { ok: true, admission: { release() {} } };
      for (const { name, of, limit, key, tallies } of budgets)
        if ((tallies.get(key)?.bytes ?? 0) + bytes > limit)
          return refuse(app, name, tallies, key, of.end(at), at, client);
      const taken = budgets.map(({ of, key, window, tallies }) => {
        const tally = tallyOf(tallies, key);
        tally.bytes += bytes;
        return { tally, window, of };
      });
      return {
        ok: true,
        admission: {
          release() {
            // Only the window the room was taken from gets it back.
            const back = now();
            for (const { tally, window, of } of taken)
              if (of.at(back).window === window) tally.bytes -= bytes;
          },
        },
      };
    },

    admitAttachment(app, client, bytes) {
      const count = limitOf(app, 'attachmentsPerAddressPerDay');
      const size = limitOf(app, 'attachmentBytesPerAddressPerDay');
      if (count <= 0 && size <= 0) return { ok: true, admission: { release() {} } };
      const at = now();
      const { window, tallies } = addressAttachments.at(at);
      const key = `${app.id}\n${addressKey(client.address)}`;
      const tally = tallies.get(key);
      const end = addressAttachments.end(at);
      if (count > 0 && (tally?.count ?? 0) + 1 > count)
        return refuse(app, 'attachmentsPerAddressPerDay', tallies, key, end, at, client);
      if (size > 0 && (tally?.bytes ?? 0) + bytes > size)
        return refuse(app, 'attachmentBytesPerAddressPerDay', tallies, key, end, at, client);
      const taken = tally ?? tallyOf(tallies, key);
      taken.count += 1;
      taken.bytes += bytes;
      return {
        ok: true,
        admission: {
          release() {
            if (addressAttachments.at(now()).window !== window) return;
            taken.count -= 1;
            taken.bytes -= bytes;
          },
        },
      };
    },

    sizes: () => ({
      addressBytes: addressBytes.size,
      sessionBytes: sessionBytes.size,
      addressAttachments: addressAttachments.size,
    }),
  };
}
