import { parseArgs } from 'node:util';
import { describeFailure, resolveEndpoint } from './sourcemaps.js';
import { commandWithUsage, UsageError } from './usage.js';
import type { Command, CommandIO } from './types.js';

const USAGE = `Usage: telltale mute <list | add | remove> [options] [--endpoint <url>]

Mute rules silence the alert emails a team can do nothing about; everything else alerts.
Patterns are globs: * is any run of characters, ? one character, case-insensitive, whole value.

  telltale mute list
  telltale mute add --message '*ResizeObserver loop*' [--type T] [--browser B] [--url /admin/*]
                    [--release R] [--environment E] [--app APP] [--note "why"]
  telltale mute remove <id>

  --endpoint   the Telltale server (TELLTALE_ENDPOINT, default http://127.0.0.1:<TELLTALE_PORT or 8080>)

Sends TELLTALE_TOKEN (from "telltale tokens create", admin to add or remove) or TELLTALE_API_TOKEN.
`;

const RULE_FIELDS = ['message', 'type', 'browser', 'url', 'release', 'environment', 'app', 'note'] as const;

interface Rule {
  id: string;
  createdAt: string;
  [field: string]: string | undefined;
}

function describe(rule: Rule): string {
  const parts = RULE_FIELDS.filter((f) => f !== 'note' && rule[f] !== undefined).map(
    (f) => `${f}=${rule[f]}`,
  );
  return `${rule.id}  ${parts.join('  ')}${rule.note === undefined ? '' : `  # ${rule.note}`}`;
}

/** The dashboards' API needs a token: one made by `telltale tokens create` (TELLTALE_TOKEN) or the fixed TELLTALE_API_TOKEN. */
function authorization(env: NodeJS.ProcessEnv): Record<string, string> {
  const token = env.TELLTALE_TOKEN || env.TELLTALE_API_TOKEN;
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function call(io: CommandIO, url: string, init: RequestInit = {}): Promise<Response | undefined> {
  try {
    return await fetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), ...authorization(io.env) },
    });
  } catch (error) {
    io.stderr.write(`telltale: cannot reach ${new URL(url).origin}: ${(error as Error).message}\n`);
    return undefined;
  }
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      ...Object.fromEntries(RULE_FIELDS.map((f) => [f, { type: 'string' as const }])),
    },
  });
  const options = values as Record<string, string | undefined>;
  const base = `${resolveEndpoint(options.endpoint, io.env)}/api/mute-rules`;

  if (sub === 'list') {
    const response = await call(io, base);
    if (response === undefined) return 1;
    if (!response.ok) {
      io.stderr.write(`telltale: ${await describeFailure(response)}\n`);
      return 1;
    }
    const { rules } = (await response.json()) as { rules: Rule[] };
    io.stdout.write(
      rules.length === 0
        ? 'No mute rules: every alert sends an email.\n'
        : `${rules.map(describe).join('\n')}\n`,
    );
    return 0;
  }
  if (sub === 'add') {
    if (positionals.length > 0)
      throw new UsageError(`unexpected "${positionals[0]}": give patterns as --message, --type, …`);
    const rule = Object.fromEntries(
      RULE_FIELDS.filter((f) => options[f] !== undefined).map((f) => [f, options[f]]),
    );
    const response = await call(io, base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(rule),
    });
    if (response === undefined) return 1;
    if (!response.ok) {
      io.stderr.write(`telltale: rule refused: ${await describeFailure(response)}\n`);
      return response.status === 400 ? 2 : 1;
    }
    const body = (await response.json()) as { rule: Rule };
    io.stdout.write(`added ${describe(body.rule)}\n`);
    return 0;
  }
  if (sub === 'remove') {
    const [id] = positionals;
    if (id === undefined || positionals.length > 1)
      throw new UsageError('give the id of one rule (see telltale mute list)');
    const response = await call(io, `${base}/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (response === undefined) return 1;
    if (!response.ok) {
      io.stderr.write(`telltale: ${await describeFailure(response)}\n`);
      return 1;
    }
    io.stdout.write(`removed ${id}\n`);
    return 0;
  }
  throw new UsageError(sub === undefined ? 'give list, add or remove' : `unknown subcommand "${sub}"`);
}

export const muteCommand: Command = commandWithUsage(
  'list, add or remove alert mute rules: telltale mute add --message "*ResizeObserver*"',
  USAGE,
  run,
);
