import { startCommand } from './start.js';
import type { Command } from './types.js';

/** Every `telltale` command. A new command is a new file in this folder and one line here. */
export const COMMANDS: Record<string, Command> = {
  start: startCommand,
};

export type { Command, CommandIO } from './types.js';
