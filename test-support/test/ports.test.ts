// The port helpers the service harnesses rely on: a held port is really held, a conflict is retried
// on other ports, and a probe can tell our own listener from another process's.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { boundPort, holdPort, isPortConflict, listensOn, withFreshPorts } from '../ports.js';
import { exited } from '../processes.js';

const listen = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('test-support ports', () => {
  it('holds a port until released: nobody else binds it, connections are reset, then ours binds it', async () => {
    const held = await holdPort();
    const taken = await listen(held.port).catch((error: unknown) => error);
    expect(isPortConflict(taken)).toBe(true);
    const reset = await new Promise<string>((resolve) => {
      const socket = net.connect(held.port, '127.0.0.1');
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      socket.on('close', () => resolve('closed'));
    });
    expect(['ECONNRESET', 'closed']).toContain(reset);
    await held.release();
    const ours = await listen(held.port);
    expect(boundPort(ours)).toBe(held.port);
    await close(ours);
  });

  it('starts again on other ports after a conflict, and gives up at once on any other error', async () => {
    const tried: number[][] = [];
    const result = await withFreshPorts(2, async (ports) => {
      tried.push(ports);
      if (tried.length === 1) throw Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
      return 'up';
    });
    expect(result).toBe('up');
    expect(tried).toHaveLength(2);
    expect(new Set(tried.flat()).size).toBeGreaterThan(1);
    let calls = 0;
    await expect(
      withFreshPorts(1, async () => {
        calls++;
        throw new Error('clickhouse-server is missing');
      }),
    ).rejects.toThrow('missing');
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withFreshPorts(
        1,
        async () => {
          calls++;
          throw new Error('Address already in use');
        },
        3,
      ),
    ).rejects.toThrow('Address already in use');
    expect(calls).toBe(3);
  });

  it("tells the process that listens on a port from one that does not (another test's server answering)", async () => {
    const ours = await listen(0);
    const port = boundPort(ours);
    expect(await listensOn(process.pid, port)).toBe(true);
    // Another process's listener: answered on the port, but not ours.
    const child = spawn(
      process.execPath,
      [
        '-e',
        "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))",
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      const theirs = await new Promise<number>((resolve) =>
        child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString()))),
      );
      expect(await listensOn(child.pid!, theirs)).toBe(true);
      expect(await listensOn(process.pid, theirs)).toBe(false);
      expect(await listensOn(child.pid!, port)).toBe(false);
    } finally {
      child.kill();
      await exited(child);
    }
    await close(ours);
    expect(await listensOn(process.pid, port)).toBe(false);
  });
});
