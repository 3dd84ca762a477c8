import { parseArgs } from 'node:util';
import { isTokenName, newApiToken, openAccessStore, ROLES, sha256, type Role } from '@telltale/dashboards';
import { commandWithUsage, UsageError } from './usage.js';
import type { Command, CommandIO } from './types.js';
import { dataDirOf } from './users.js';

const USAGE = `Usage: telltale tokens <command> [options]

API tokens for scripts and monitoring: send one as "Authorization: Bearer <token>" to /api/* or
/metrics. Only a hash is kept; the token is shown once, when made.

  telltale tokens create <name> [--role viewer|admin]    default viewer (reads only)
  telltale tokens list
  telltale tokens revoke <name>

  --data-dir <dir>   the data dir (TELLTALE_DATA_DIR, default ./.telltale)
`;

async function run(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { role: { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  const store = openAccessStore(dataDirOf(values['data-dir'], io.env));
  const oneName = (): string => {
    const [name] = positionals;
    if (name === undefined || positionals.length > 1) throw new UsageError('give one token name');
    if (!isTokenName(name)) throw new UsageError(`"${name}": use 1-64 of A-Z a-z 0-9 . _ -`);
    return name;
  };

  if (sub === 'list') {
    const tokens = await store.tokens();
    io.stdout.write(
      tokens.length === 0
        ? 'No API tokens: telltale tokens create <name>\n'
        : tokens.map((t) => `${t.name}  ${t.role}  created ${t.createdAt.slice(0, 10)}`).join('\n') + '\n',
    );
    return 0;
  }
  if (sub === 'create') {
    const name = oneName();
    const role = (values.role ?? 'viewer') as Role;
    if (!ROLES.includes(role)) throw new UsageError(`--role is viewer or admin, not "${role}"`);
    if ((await store.tokens()).some((t) => t.name === name))
      throw new UsageError(`a token "${name}" exists; revoke it first or pick another name`);
    const token = newApiToken();
    await store.update((file) => {
      file.tokens.push({ name, role, sha256: sha256(token), createdAt: new Date().toISOString() });
    });
    io.stdout.write(`created ${name} (${role}). The token, shown only now:\n${token}\n`);
    return 0;
  }
  if (sub === 'revoke') {
    const name = oneName();
    if (!(await store.tokens()).some((t) => t.name === name)) {
      io.stderr.write(`telltale: no token "${name}"; see telltale tokens list\n`);
      return 1;
    }
    await store.update((file) => {
      file.tokens = file.tokens.filter((t) => t.name !== name);
    });
    io.stdout.write(`revoked ${name}\n`);
    return 0;
  }
  throw new UsageError(sub === undefined ? 'give create, list or revoke' : `unknown subcommand "${sub}"`);
}

export const tokensCommand: Command = commandWithUsage(
  'API tokens for scripts: telltale tokens create NAME [--role viewer|admin]',
  USAGE,
  run,
);
