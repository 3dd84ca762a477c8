import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  hashPassword,
  isEmail,
  normalizeEmail,
  openAccessStore,
  passwordProblem,
  ROLES,
  type Role,
} from '@telltale/dashboards';
import { commandWithUsage, UsageError } from './usage.js';
import type { Command, CommandIO } from './types.js';

const USAGE = `Usage: telltale users <command> [options]

People who sign in to the dashboards. Stored in <data dir>/auth/access.json (0600); a running
server sees changes on the next request.

  telltale users add <email> [--role admin|viewer] [--password-stdin]
                             the first user is an admin unless --role says otherwise; later ones viewers
  telltale users list
  telltale users remove <email>      ends that person's sessions
  telltale users passwd <email> [--password-stdin]   ends that person's sessions

  --data-dir <dir>    the data dir (TELLTALE_DATA_DIR, default ./.telltale)
  --password-stdin    read the password from standard input (also when stdin is not a terminal)
`;

/** The data dir as `telltale start` resolves it, so both see the same users file. */
export const dataDirOf = (option: string | undefined, env: NodeJS.ProcessEnv): string =>
  path.resolve(option ?? env.TELLTALE_DATA_DIR ?? '.telltale');

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** Reads one line from a terminal without echoing it. */
function promptHidden(io: CommandIO, question: string): Promise<string> {
  const stdin = io.stdin!;
  io.stderr.write(question);
  stdin.setRawMode?.(true);
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\u0003') return finish(new UsageError('cancelled'));
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    const finish = (error?: Error) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** A terminal is asked twice; stdin (a pipe, or --password-stdin) gives its first line. */
async function readPassword(io: CommandIO, fromStdin: boolean): Promise<string> {
  if (io.stdin === undefined) throw new UsageError('no standard input to read the password from');
  let password: string;
  if (io.stdin.isTTY === true && !fromStdin) {
    password = await promptHidden(io, 'Password: ');
    if ((await promptHidden(io, 'Again: ')) !== password) throw new UsageError('the two passwords differ');
  } else {
    password = (await readAll(io.stdin)).split(/\r?\n/)[0] ?? '';
  }
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new UsageError(`password refused: ${problem}`);
  return password;
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'data-dir': { type: 'string' },
    },
  });
  const store = openAccessStore(dataDirOf(values['data-dir'], io.env));
  const oneEmail = (): string => {
    const [raw] = positionals;
    if (raw === undefined || positionals.length > 1) throw new UsageError('give one email address');
    const email = normalizeEmail(raw);
    if (!isEmail(email)) throw new UsageError(`"${raw}" is not an email address`);
    return email;
  };

  if (sub === 'list') {
    const users = await store.users();
    io.stdout.write(
      users.length === 0
        ? 'No users yet: telltale users add you@example.com\n'
        : users.map((u) => `${u.email}  ${u.role}  added ${u.createdAt.slice(0, 10)}`).join('\n') + '\n',
    );
    return 0;
  }
  if (sub === 'add') {
    const email = oneEmail();
    const users = await store.users();
    const role = (values.role ?? (users.length === 0 ? 'admin' : 'viewer')) as Role;
    if (!ROLES.includes(role)) throw new UsageError(`--role is admin or viewer, not "${role}"`);
    if (users.some((u) => u.email === email))
      throw new UsageError(
        `${email} exists already; change the password with telltale users passwd ${email}`,
      );
    const passwordHash = await hashPassword(await readPassword(io, values['password-stdin'] === true));
    const now = new Date().toISOString();
    await store.update((file) => {
      file.users.push({ email, role, passwordHash, createdAt: now, updatedAt: now });
    });
    io.stdout.write(`added ${email} (${role})\n`);
    return 0;
  }
  if (sub === 'remove' || sub === 'passwd') {
    const email = oneEmail();
    if ((await store.findUser(email)) === undefined) {
      io.stderr.write(`telltale: no user ${email}; see telltale users list\n`);
      return 1;
    }
    const passwordHash =
      sub === 'passwd' ? await hashPassword(await readPassword(io, values['password-stdin'] === true)) : '';
    await store.update((file) => {
      if (sub === 'remove') file.users = file.users.filter((u) => u.email !== email);
      else
        for (const user of file.users)
          if (user.email === email)
            Object.assign(user, { passwordHash, updatedAt: new Date().toISOString() });
    });
    io.stdout.write(sub === 'remove' ? `removed ${email}\n` : `changed the password of ${email}\n`);
    return 0;
  }
  throw new UsageError(
    sub === undefined ? 'give add, list, remove or passwd' : `unknown subcommand "${sub}"`,
  );
}

export const usersCommand: Command = commandWithUsage(
  'people who sign in: telltale users add you@example.com [--role admin|viewer]',
  USAGE,
  run,
);
