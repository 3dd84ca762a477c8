// Debian's clickhouse-server with a config of our own, on 127.0.0.1, data in a temp dir
// (/work/shared/REAL-SERVICES.md). Fails loudly with the install command when it is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exited } from './processes.js';
import { listensOn, withFreshPorts } from './ports.js';
import { waitFor } from './wait.js';

export const CLICKHOUSE_SERVER = '/usr/sbin/clickhouse-server';
export const CLICKHOUSE_CLIENT = '/usr/bin/clickhouse-client';

export interface ClickHouseServer {
  /** HTTP interface, e.g. http://127.0.0.1:41234 */
  url: string;
  tcpPort: number;
  /** Runs one statement over HTTP; resolves to the body (TabSeparated). */
  query(sql: string): Promise<string>;
  /** Stops the server (SIGTERM) and waits for it to exit; the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
  /** The running server's process id (benchmarks read its CPU time); undefined while stopped. */
  pid(): number | undefined;
}

// <yandex> is the root 18.16 knows; current releases still accept it.
const configXml = (dir: string, httpPort: number, tcpPort: number) => `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/error.log</errorlog></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
`;

/** Takes a few seconds: share one per test file. A port another process took is retried on others. */
export async function startClickHouse(): Promise<ClickHouseServer> {
  if (!existsSync(CLICKHOUSE_SERVER))
    throw new Error(
      `${CLICKHOUSE_SERVER} is missing: install it with "apt-get install -y clickhouse-server clickhouse-client" (scripts/test-prereqs.sh does)`,
    );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-clickhouse-'));
  const config = path.join(dir, 'config.xml');
  let httpPort = 0;
  let tcpPort = 0;
  let child: ChildProcess | undefined;

  const url = () => `http://127.0.0.1:${httpPort}`;
  const query = async (sql: string): Promise<string> => {
    const response = await fetch(`${url()}/`, { method: 'POST', body: sql });
    const text = await response.text();
    if (!response.ok) throw new Error(`ClickHouse answered ${response.status}: ${text.slice(0, 300)}`);
    return text;
  };

  const start = async (): Promise<void> => {
    let stderr = '';
    const proc = spawn(CLICKHOUSE_SERVER, [`--config-file=${config}`], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child = proc;
    try {
      const outcome = await waitFor(
        'clickhouse-server',
        async () =>
          proc.exitCode !== null || proc.signalCode !== null
            ? 'exited'
            : // Ours, not whichever server took the port: the answer alone would not say.
              (await listensOn(proc.pid!, httpPort)) &&
              (await listensOn(proc.pid!, tcpPort)) &&
              (await query('SELECT 1')).trim() === '1' &&
              'up',
        60_000,
        100,
      );
      if (outcome === 'exited') throw new Error('clickhouse-server exited');
    } catch (error) {
      const log = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
      proc.kill('SIGKILL');
      await exited(proc);
      child = undefined;
      throw new Error(`${(error as Error).message}\n${stderr}\n${log.slice(-2000)}`);
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited(proc);
    clearTimeout(timer);
  };

  try {
    await withFreshPorts(2, async (ports) => {
      [httpPort, tcpPort] = ports as [number, number];
      await rm(path.join(dir, 'error.log'), { force: true });
      await writeFile(config, configXml(dir, httpPort, tcpPort));
      await start();
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: url(),
    tcpPort,
    query,
    stop,
    start,
    pid: () => child?.pid,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
