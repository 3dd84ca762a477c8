import { TelltaleError } from '@telltale/protocol';
import { COMMANDS, type CommandIO } from './commands/index.js';

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`,
  );
  return [
    'Usage: telltale <command> [options]',
    '',
    'Commands:',
    ...lines,
    `  ${'help'.padEnd(width)}  show this message`,
    '',
    'Settings come from TELLTALE_* environment variables (docs/configuration.md).',
  ].join('\n');
}

/** Runs one `telltale …` command line and resolves to its exit code. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name = 'start', ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(usage() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`telltale: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // Config and usage errors name the field and the fix; anything else is a bug worth a stack.
    io.stderr.write(
      error instanceof TelltaleError
        ? `telltale: ${error.message}\n`
        : `${String((error as Error)?.stack ?? error)}\n`,
    );
    return 1;
  }
}
