import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../src/index.js';

function io(env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: '', err: '' };
  stdout.on('data', (chunk: Buffer) => (text.out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (text.err += chunk.toString()));
  return { io: { stdout, stderr, env }, text };
}

describe('telltale command line', () => {
  it('lists every command on help', async () => {
    const { io: streams, text } = io();
    expect(await main(['help'], streams)).toBe(0);
    expect(text.out).toContain('Usage: telltale <command>');
    expect(text.out).toMatch(/^\s+start\s+run collector/m);
    // Every registered command, each on its own line with its summary, and nothing else listed.
    const listed = text.out
      .split('\n')
      .filter((line) => /^ {2}\S/.test(line))
      .map((line) => line.trim().split(/\s+/)[0]);
    expect(listed.sort()).toEqual([...Object.keys(COMMANDS), 'help'].sort());
    for (const [name, command] of Object.entries(COMMANDS)) {
      expect(command.summary.length, `${name} has a summary`).toBeGreaterThan(0);
      expect(text.out.split('\n')).toContainEqual(expect.stringMatching(new RegExp(`^ {2}${name} +`)));
      expect(text.out).toContain(command.summary);
    }
  });

  it('refuses an unknown command with a usage error', async () => {
    const { io: streams, text } = io();
    expect(await main(['frobnicate'], streams)).toBe(2);
    expect(text.err).toContain('unknown command "frobnicate"');
  });

  it('stops start-up on invalid config with a message naming the variable and the fix', async () => {
    const { io: streams, text } = io({ TELLTALE_PORT: 'eighty' });
    expect(await main(['start'], streams)).toBe(1);
    expect(text.err).toContain('TELLTALE_ERR_INVALID_CONFIG: TELLTALE_PORT: "eighty" is not a port number');
  });
});
