// librdkafka's built-in mock cluster, kept alive by a kcat consumer (/work/shared/REAL-SERVICES.md):
// it speaks the real Kafka protocol, so kafkajs produces and consumes in consumer groups against it.
// Topics auto-create on first use (4 partitions); admin.createTopics fails there; the idempotent
// producer cannot initialise (use `idempotent: false` in tests). The data lives in the kcat
// process: stop() loses every topic.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { exited } from './processes.js';

export const KCAT = '/usr/bin/kcat';

export interface KafkaMockCluster {
  /** `127.0.0.1:PORT`, for kafkajs `brokers: [bootstrap]` or TELLTALE_KAFKA_BROKERS. */
  bootstrap: string;
  /** The kcat process holding the cluster (for SIGSTOP / SIGCONT fault tests). */
  pid: number;
  /** Freezes the broker: connections stay open, nothing is answered (kill -STOP). */
  freeze(): void;
  /** Thaws a frozen broker (kill -CONT). */
  thaw(): void;
  /** Ends the cluster and its data. */
  stop(): Promise<void>;
}

export interface KafkaMockOptions {
  /** Brokers in the cluster (default 1). */
  brokers?: number;
}

/** Starts a mock cluster in ~100 ms; share one per test file. */
export async function startKafkaMock(options: KafkaMockOptions = {}): Promise<KafkaMockCluster> {
  if (!existsSync(KCAT))
    throw new Error(
      `${KCAT} is missing: install it with "apt-get install -y kcat" (scripts/test-prereqs.sh does)`,
    );
  const child: ChildProcess = spawn(
    KCAT,
    [
      '-C',
      '-t',
      '__telltale_keepalive',
      '-b',
      'unused:1',
      '-X',
      `test.mock.num.brokers=${options.brokers ?? 1}`,
      '-d',
      'mock',
      '-q',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kcat mock cluster did not report its address within 10 s:\n${seen.slice(-2000)}`));
    }, 10_000);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const match = /bootstrap\.servers=(127\.0\.0\.1:\d+(?:,127\.0\.0\.1:\d+)*)/.exec(seen);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        // Keep draining stderr (the debug log is chatty) so the child never blocks on a full pipe.
        child.stderr?.off('data', onData);
        child.stderr?.resume();
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`kcat exited (${signal ?? code}) before the mock cluster was up:\n${seen.slice(-2000)}`),
      );
    });
  });
  const pid = child.pid!;
  return {
    bootstrap,
    pid,
    freeze: () => void process.kill(pid, 'SIGSTOP'),
    thaw: () => void process.kill(pid, 'SIGCONT'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // A frozen process ignores SIGTERM until thawed.
      process.kill(pid, 'SIGCONT');
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}
