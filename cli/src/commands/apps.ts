import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  APP_QUOTA_FIELDS,
  appsFilePath,
  defaultProjectId,
  fingerprintKey,
  normalizeOrigin,
  readAppsFile,
  sentryDsn,
  writeAppsFile,
  type AppQuotas,
  type AppsFile,
  type CollectorAppOptions,
} from '@telltale/collector';
import { TelltaleError } from '@telltale/protocol';
import type { Command, CommandIO } from './types.js';

const USAGE = `Usage: telltale apps <command> [options]

Apps live in the apps file (TELLTALE_CONFIG, default ./telltale.config.json); a running server
picks up changes within 2 seconds.

  telltale apps list [--json]
  telltale apps add <id> [--name "Web app"] [--origin https://app.example.com]...
  telltale apps add-origin <id> <origin>
  telltale apps dsn <id> [--url http://127.0.0.1:8080]  the DSN for Sentry SDKs (docs/sentry.md)
  telltale apps rotate-key <id> [--secret]           add a new key; the old one keeps working
  telltale apps rotate-key <id> [--secret] --finish  revoke every key but the newest (401 "revoked")
  telltale apps quota <id> [--events-per-minute N] [--bytes-per-day N] [--attachments-per-session N]
                           [--attachments-per-day N] [--attachment-bytes-per-day N]
                           [--bytes-per-address-per-hour N] [--bytes-per-session-per-day N]
                           [--attachments-per-address-per-day N] [--attachment-bytes-per-address-per-day N] [--clear]
                           this app's own quotas (0 = off, "default" = the collector's); no flag: show them

  --config <file>   the apps file (overrides TELLTALE_CONFIG)
  --url <base>      where SDKs reach this server, for the DSN (default http://127.0.0.1:$TELLTALE_PORT or 8080)
  --secret          the secret server key (server logs, source maps) instead of the public ingest key
`;

/** At most this many keys of one kind are active: the new one and the one being replaced. */
const ACTIVE_KEYS = 2;

// Hex only: Sentry's DSN parser takes `\w+` keys, and base64url's `-` would not fit in a DSN.
const newKey = (kind: 'ingest' | 'secret'): string =>
  kind === 'ingest'
    ? `tt_live_${randomBytes(16).toString('hex')}`
    : `tt_secret_${randomBytes(24).toString('hex')}`;

/** The project id of a new app: one above every id in use (1 is the demo app's). */
const nextProjectId = (contents: AppsFile): number =>
  Math.max(
    1,
    ...contents.apps.map((a) => a.projectId ?? defaultProjectId(a.id)).filter((n) => n < 100_000_000),
  ) + 1;

const baseUrl = (values: { url?: string | undefined }, env: NodeJS.ProcessEnv): string => {
  const url = values.url ?? `http://127.0.0.1:${env.TELLTALE_PORT || '8080'}`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
    return url;
  } catch {
    fail(`--url must be an http(s) URL like https://telltale.example.com, got "${url}"`);
  }
};

const dsnOf = (app: CollectorAppOptions, base: string): string | undefined =>
  sentryDsn({ ingestKeys: app.ingestKeys, projectId: app.projectId ?? defaultProjectId(app.id) }, base);

/** Secret keys are shown in full once, when made; afterwards only their start. */
const mask = (key: string): string => `${key.slice(0, 14)}…`;

class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

async function load(file: string): Promise<AppsFile> {
  return (await readAppsFile(file))?.file ?? { apps: [] };
}

function findApp(contents: AppsFile, id: string | undefined, file: string): CollectorAppOptions {
  if (id === undefined) fail('name the app: telltale apps <command> <id>');
  const app = contents.apps.find((a) => a.id === id);
  if (app === undefined) fail(`no app "${id}" in ${file}; see "telltale apps list"`);
  return app;
}

function listApps(contents: AppsFile, json: boolean, io: CommandIO, file: string, base: string): void {
  const view = contents.apps.map((app) => ({
    id: app.id,
    name: app.name,
    projectId: app.projectId ?? defaultProjectId(app.id),
    dsn: dsnOf(app, base) ?? null,
    ingestKeys: [...app.ingestKeys],
    secretKeys: (app.secretKeys ?? []).map(mask),
    allowedOrigins: app.allowedOrigins?.length ? [...app.allowedOrigins] : ['*'],
    revokedKeys: app.revokedKeys?.length ?? 0,
    ...(app.quotas ? { quotas: { ...app.quotas } } : {}),
  }));
  if (json) {
    io.stdout.write(JSON.stringify({ file, apps: view }, null, 2) + '\n');
    return;
  }
  if (view.length === 0) {
    io.stdout.write(`No apps in ${file} yet. Add one: telltale apps add <id> --name "Web app"\n`);
    return;
  }
  io.stdout.write(`Apps in ${file}:\n`);
  for (const app of view) {
    io.stdout.write(
      [
        '',
        `${app.id}  (${app.name})`,
        `  ingest keys   ${app.ingestKeys.join(', ')}`,
        `  Sentry DSN    ${app.dsn ?? `none: every ingest key has "-"; run "telltale apps rotate-key ${app.id}"`}`,
        `  secret keys   ${app.secretKeys.join(', ') || '—'}`,
        `  origins       ${app.allowedOrigins.join(', ')}${app.allowedOrigins[0] === '*' ? '  (any page may send)' : ''}`,
        `  revoked keys  ${app.revokedKeys}`,
        `  quotas        ${describeQuotas(app.quotas)}`,
      ].join('\n') + '\n',
    );
  }
}

/** The app's quotas and its public-key client budgets (collector/src/public-budgets.ts), set alike. */
const QUOTA_FLAGS: Record<(typeof APP_QUOTA_FIELDS)[number], string> = {
  eventsPerMinute: 'events-per-minute',
  bytesPerDay: 'bytes-per-day',
  attachmentsPerSession: 'attachments-per-session',
  attachmentsPerDay: 'attachments-per-day',
  attachmentBytesPerDay: 'attachment-bytes-per-day',
  bytesPerAddressPerHour: 'bytes-per-address-per-hour',
  bytesPerSessionPerDay: 'bytes-per-session-per-day',
  attachmentsPerAddressPerDay: 'attachments-per-address-per-day',
  attachmentBytesPerAddressPerDay: 'attachment-bytes-per-address-per-day',
};

const describeQuotas = (quotas: AppQuotas | undefined): string => {
  const set = Object.entries(quotas ?? {}).map(([name, value]) => `${name} ${value === 0 ? 'off' : value}`);
  return set.length === 0 ? "the collector's defaults" : `${set.join(', ')} (others: defaults)`;
};

/** The app's quotas after the flags: a number sets one (0 = off), "default" removes the override. */
function applyQuotaFlags(
  current: AppQuotas | undefined,
  values: Record<string, unknown>,
): Record<string, number> {
  const next: Record<string, number> = values.clear === true ? {} : { ...current };
  for (const name of APP_QUOTA_FIELDS) {
    const raw = values[QUOTA_FLAGS[name]];
    if (typeof raw !== 'string') continue;
    if (raw === 'default') {
      delete next[name];
      continue;
    }
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value))
      fail(`--${QUOTA_FLAGS[name]} must be a whole number (0 = off) or "default", got "${raw}"`);
    next[name] = value;
  }
  return next;
}

function checkOrigins(origins: string[]): string[] {
  return origins.map(
    (origin) =>
      normalizeOrigin(origin) ??
      fail(`"${origin}" is not an origin: give scheme and host, e.g. https://app.example.com (no path)`),
  );
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      url: { type: 'string' },
      name: { type: 'string' },
      origin: { type: 'string', multiple: true },
      secret: { type: 'boolean', default: false },
      finish: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      clear: { type: 'boolean', default: false },
      ...Object.fromEntries(Object.values(QUOTA_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    },
  });
  const file = values.config ?? appsFilePath(io.env).file;
  const contents = await load(file);
  const [id, extra] = positionals;

  switch (sub) {
    case 'list':
      listApps(contents, values.json, io, file, baseUrl(values, io.env));
      return 0;

    case 'add': {
      if (id === undefined) fail('name the app: telltale apps add <id> [--name "Web app"]');
      if (contents.apps.some((a) => a.id === id)) fail(`app "${id}" already exists in ${file}`);
      const app: CollectorAppOptions = {
        id,
        name: values.name ?? id,
        projectId: nextProjectId(contents),
        ingestKeys: [newKey('ingest')],
        secretKeys: [newKey('secret')],
        ...(values.origin?.length ? { allowedOrigins: checkOrigins(values.origin) } : {}),
      };
      await writeAppsFile(file, { ...contents, apps: [...contents.apps, app] });
      io.stdout.write(
        [
          `Added app "${id}" to ${file}.`,
          `  ingest key (public, goes in the SDK):     ${app.ingestKeys[0]}`,
          `  secret key (servers only, shown once):    ${app.secretKeys![0]}`,
          `  Sentry DSN (for Sentry SDKs):             ${dsnOf(app, baseUrl(values, io.env)) ?? '—'}`,
          `  origins: ${app.allowedOrigins?.join(', ') ?? 'any (add some with "telltale apps add-origin")'}`,
          '',
        ].join('\n'),
      );
      return 0;
    }

    case 'dsn': {
      const app = findApp(contents, id, file);
      const dsn = dsnOf(app, baseUrl(values, io.env));
      if (dsn === undefined) {
        io.stderr.write(
          `telltale apps: app "${app.id}" has no ingest key a DSN can carry (Sentry takes A-Z a-z 0-9 _ only); ` +
            `run "telltale apps rotate-key ${app.id}" for one\n`,
        );
        return 1;
      }
      io.stdout.write(`${dsn}\n`);
      return 0;
    }

    case 'add-origin': {
      const app = findApp(contents, id, file);
      if (extra === undefined) fail('give the origin: telltale apps add-origin <id> https://app.example.com');
      const [origin] = checkOrigins([extra]);
      const origins = [...new Set([...(app.allowedOrigins ?? []), origin!])];
      const next = contents.apps.map((a) => (a === app ? { ...a, allowedOrigins: origins } : a));
      await writeAppsFile(file, { ...contents, apps: next });
      io.stdout.write(`App "${app.id}" now takes pages from: ${origins.join(', ')}\n`);
      return 0;
    }

    case 'rotate-key': {
      const app = findApp(contents, id, file);
      const kind = values.secret ? 'secret' : 'ingest';
      const field = kind === 'secret' ? 'secretKeys' : 'ingestKeys';
      const current = [...(app[field] ?? [])];
      let active: string[];
      let made: string | undefined;
      if (values.finish) {
        if (current.length <= 1) fail(`app "${app.id}" has one ${kind} key already; nothing to finish`);
        active = current.slice(0, 1);
      } else {
        made = newKey(kind);
        active = [made, ...current].slice(0, ACTIVE_KEYS);
      }
      const revoked = current.filter((key) => !active.includes(key));
      const next = contents.apps.map((a) =>
        a === app
          ? {
              ...a,
              [field]: active,
              revokedKeys: [...new Set([...(a.revokedKeys ?? []), ...revoked.map(fingerprintKey)])],
            }
          : a,
      );
      await writeAppsFile(file, { ...contents, apps: next });
      const lines: string[] = [];
      if (made !== undefined) {
        lines.push(`New ${kind} key for "${app.id}": ${made}`);
        if (active.length > 1)
          lines.push(
            `Both ${kind} keys work now. Once every ${kind === 'ingest' ? 'app' : 'server'} has the new one:`,
            `  telltale apps rotate-key ${app.id}${kind === 'secret' ? ' --secret' : ''} --finish`,
          );
      }
      for (const key of revoked)
        lines.push(`Revoked ${kind} key ${kind === 'secret' ? mask(key) : key}: it is now answered 401.`);
      io.stdout.write(lines.join('\n') + '\n');
      return 0;
    }

    case 'quota': {
      const app = findApp(contents, id, file);
      const changes = values.clear || Object.values(QUOTA_FLAGS).some((flag) => flag in values);
      if (changes) {
        const quotas = applyQuotaFlags(app.quotas, values);
        const next = contents.apps.map((a) => {
          if (a !== app) return a;
          const { quotas: _old, ...rest } = a;
          return Object.keys(quotas).length > 0 ? { ...rest, quotas } : rest;
        });
        await writeAppsFile(file, { ...contents, apps: next });
        io.stdout.write(`Quotas of "${app.id}": ${describeQuotas(quotas)}\n`);
      } else io.stdout.write(`Quotas of "${app.id}": ${describeQuotas(app.quotas)}\n`);
      return 0;
    }

    default:
      io.stderr.write(
        sub === undefined || sub === 'help' ? USAGE : `telltale apps: unknown command "${sub}"\n\n${USAGE}`,
      );
      return sub === 'help' ? 0 : 2;
  }
}

export const appsCommand: Command = {
  summary: 'add, list and rotate the keys of the apps that send data (the apps file)',
  async run(argv, io) {
    try {
      return await run(argv, io);
    } catch (error) {
      if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
        io.stderr.write(`telltale apps: ${error.message}\n\n${USAGE}`);
        return 2;
      }
      if (error instanceof TelltaleError) {
        io.stderr.write(`telltale apps: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
