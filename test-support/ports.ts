// Ports for test services without the close-then-bind race: a port picked by closing a probe socket
// can be taken by another test before the service binds it (and a probe may then reach that stranger).
import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';

/** The port a listening server is bound to (it listened on port 0: the kernel chose a free one). */
export function boundPort(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the server is not listening on TCP');
  return address.port;
}

/** True for "address already in use", however the service reported it. */
export function isPortConflict(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(String(message ?? ''));
}

/**
 * For a child process that must be told its port up front: pick free ports, start, and on a port
 * conflict pick others and start again, a bounded number of times.
 */
export async function withFreshPorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const held = await Promise.all(Array.from({ length: count }, () => holdPort()));
    const ports = held.map((h) => h.port);
    // Released together right before the start: the window is the child's start-up, not ours.
    await Promise.all(held.map((h) => h.release()));
    try {
      return await start(ports);
    } catch (error) {
      if (!isPortConflict(error) || attempt >= attempts) throw error;
    }
  }
}

export interface HeldPort {
  port: number;
  /** Stops holding it; a service of the test's own binds it next. */
  release(): Promise<void>;
}

/**
 * Binds a free port and keeps it, refusing every connection (reset at once), so nothing else can
 * take it: "the service is down" for a test that brings the real one up there later.
 */
export async function holdPort(): Promise<HeldPort> {
  const server = net.createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = boundPort(server);
  let released: Promise<void> | undefined;
  return {
    port,
    release: () => (released ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

/**
 * True when process `pid` holds the socket listening on `port` (Linux /proc): a readiness probe that
 * got an answer on the port proves nothing if another test's server answered it.
 */
export async function listensOn(pid: number, port: number): Promise<boolean> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; column 9 is the socket's inode.
      if (columns.length < 10 || columns[3] !== '0A') continue;
      if (parseInt(columns[1]!.split(':')[1] ?? '', 16) === port) inodes.add(columns[9]!);
    }
  }
  if (inodes.size === 0) return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (link.startsWith('socket:[') && inodes.has(link.slice(8, -1))) return true;
  }
  return false;
}
