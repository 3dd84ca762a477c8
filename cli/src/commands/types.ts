/** One `telltale <name>` command. Output goes to the given streams so tests can read it. */
export interface Command {
  /** One line for `telltale help`. */
  summary: string;
  /** Resolves to the process exit code (0 ok, 1 failure, 2 usage error). */
  run(argv: string[], io: CommandIO): Promise<number>;
}

export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Where passwords are read from (`telltale users add`); a TTY gets a prompt without echo. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
}
