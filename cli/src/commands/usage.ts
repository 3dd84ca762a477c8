import type { Command, CommandIO } from './types.js';

/** A mistake on the command line: exit code 2 and the usage text. */
export class UsageError extends Error {}

export function usageFailure(io: CommandIO, error: unknown, usage: string): number {
  const parseError = String((error as NodeJS.ErrnoException | null)?.code ?? '').startsWith('ERR_PARSE_ARGS');
  if (!(error instanceof UsageError) && !parseError) throw error;
  io.stderr.write(`telltale: ${(error as Error).message}\n\n${usage}`);
  return 2;
}

/** A command whose `help` / `--help` / `-h` prints `usage`, and whose usage mistakes exit 2 with it. */
export function commandWithUsage(
  summary: string,
  usage: string,
  run: (argv: string[], io: CommandIO) => Promise<number>,
): Command {
  return {
    summary,
    async run(argv, io) {
      if (argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
        io.stdout.write(usage);
        return 0;
      }
      try {
        return await run(argv, io);
      } catch (error) {
        return usageFailure(io, error, usage);
      }
    },
  };
}
