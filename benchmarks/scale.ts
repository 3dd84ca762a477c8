/**
 * `npm run bench:scale` — events/s that one and then two `telltale dispatcher` processes (one
 * consumer group) drain from Kafka into ClickHouse, in the same run: librdkafka's mock cluster
 * (test-support/kafka.ts, 4 partitions per topic) and Debian's ClickHouse 18.16
 * (test-support/clickhouse.ts) on 127.0.0.1. Each run gets its own topic prefix and database.
 *
 * Per run: the dispatchers start on empty topics and wait until every one of them owns partitions;
 * then BENCH_EVENTS events (client batches of 100, the bytes a collector's forwarder produces) are
 * produced, and the rate is taken from the first produce to the last row visible in ClickHouse,
 * so process start-up and group joins are not in it (producing is: ~0.2-4 s of the run).
 *
 * Stdout, last line: {"bench":"scale","one_events_per_s":…,"two_events_per_s":…,"ratio":…}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { kafkaTopics } from '@telltale/protocol';
import { clientBatch } from '../dispatchers/test/corpus.js';
import { startClickHouse, type ClickHouseServer } from '../test-support/clickhouse.js';
import { startKafkaMock, type KafkaMockCluster } from '../test-support/kafka.js';

// librdkafka's mock cluster keeps about 5 MB per partition and drops older records, as a
// retention would: 40,000 corpus events (~12 MB over 4 partitions, keys spread) stay below it.
const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const BATCH = 100; // events per client batch, as the SDK sends them at most
const PRODUCE_CHUNK = 50; // records per produce request
const START_TIMEOUT_MS = Number(process.env.BENCH_START_TIMEOUT_MS ?? 180_000);
const DRAIN_TIMEOUT_MS = 900_000;
const POLL_MS = 100;
const CLI = fileURLToPath(new URL('../cli/bin/telltale.js', import.meta.url));

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Dispatcher {
  child: ChildProcess;
  ops: string;
  dataDir: string;
}

async function startDispatcher(
  kafka: string,
  clickhouse: string,
  prefix: string,
  database: string,
): Promise<Dispatcher> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'telltale-bench-scale-'));
  const child = spawn(process.execPath, [CLI, 'dispatcher'], {
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH,
      TELLTALE_DATA_DIR: dataDir,
      TELLTALE_OPS_PORT: '0',
      TELLTALE_LOG_LEVEL: 'error',
      TELLTALE_SINKS: 'clickhouse',
      TELLTALE_CLICKHOUSE_URL: clickhouse,
      TELLTALE_CLICKHOUSE_DATABASE: database,
      TELLTALE_KAFKA_BROKERS: kafka,
      TELLTALE_KAFKA_TOPIC_PREFIX: prefix,
      // kafkajs's idempotent producer cannot initialise on the mock cluster (REAL-SERVICES.md).
      TELLTALE_KAFKA_IDEMPOTENT: '0',
      TELLTALE_KAFKA_SESSION_TIMEOUT_MS: '10000',
      ...(process.env.TELLTALE_DISPATCH_THREADS === undefined
        ? {}
        : { TELLTALE_DISPATCH_THREADS: process.env.TELLTALE_DISPATCH_THREADS }),
    },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ops = /ops on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    if (ops !== undefined) return { child, ops, dataDir };
    if (child.exitCode !== null) throw new Error(`telltale dispatcher exited with ${child.exitCode}: ${out}`);
    if (Date.now() > deadline)
      throw new Error(`telltale dispatcher did not start within ${START_TIMEOUT_MS} ms`);
    await sleep(100);
  }
}

async function stopDispatcher(d: Dispatcher): Promise<void> {
  const exit = new Promise((resolve) => d.child.once('exit', resolve));
  d.child.kill('SIGTERM');
  await Promise.race([exit, sleep(30_000)]);
  d.child.kill('SIGKILL');
  await rm(d.dataDir, { recursive: true, force: true });
}

/** /readyz answers 200 once every consumer of the process joined its group (and nothing else is wrong). */
async function ready(d: Dispatcher): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const answer = await fetch(`${d.ops}/readyz`).then(
      async (r) => ({ status: r.status, body: await r.text() }),
      (error: unknown) => ({ status: 0, body: String(error) }),
    );
    if (answer.status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`dispatcher ${d.ops} not ready within ${START_TIMEOUT_MS} ms: ${answer.body}`);
    await sleep(POLL_MS);
  }
}

type Message = { key: string; value: Buffer };

/** The envelopes a collector would have spooled (unique batch and event ids per run), made before the clock starts. */
function envelopes(run: number): Message[] {
  const now = Date.now();
  return Array.from({ length: Math.ceil(EVENTS / BATCH) }, (_, n) => {
    const envelope = clientBatch(run * 1_000_000 + n, BATCH, now - 60_000 + n, 'shop');
    const session = `session-${n}`;
    envelope.batch.session = session;
    return { key: `shop/${session}`, value: Buffer.from(JSON.stringify(envelope)) };
  });
}

/** Produced as a collector's forwarder does: acks = all, keyed app/session. */
async function produce(
  kafka: KafkaMockCluster,
  topic: string,
  messages: readonly Message[],
): Promise<number> {
  const client = new kafkajs.Kafka({ brokers: [kafka.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const started = performance.now();
  try {
    for (let from = 0; from < messages.length; from += PRODUCE_CHUNK)
      await producer.send({ topic, acks: -1, messages: messages.slice(from, from + PRODUCE_CHUNK) });
  } finally {
    await producer.disconnect();
  }
  return (performance.now() - started) / 1000;
}

async function measure(
  kafka: KafkaMockCluster,
  clickhouse: ClickHouseServer,
  run: number,
  processes: number,
): Promise<number> {
  const prefix = `scale${run}.`;
  const database = `scale${run}`;
  const dispatchers: Dispatcher[] = [];
  const messages = envelopes(run);
  try {
    for (let i = 0; i < processes; i += 1)
      dispatchers.push(await startDispatcher(kafka.bootstrap, clickhouse.url, prefix, database));
    // A member's join completes only once the group rebalanced with every member known to it.
    for (const d of dispatchers) await ready(d);
    log(`scale: ${processes} dispatcher(s) settled; producing ${EVENTS} events`);
    // Without FINAL while polling (cheap; a redelivered copy could only end the wait early, and the
    // FINAL count afterwards catches that).
    const count = async (final: boolean): Promise<number> =>
      Number(
        (await clickhouse.query(`SELECT count() FROM ${database}.events${final ? ' FINAL' : ''}`)).trim(),
      );
    const started = performance.now();
    const producing = produce(kafka, kafkaTopics(prefix).client, messages);
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    let rows = 0;
    while (rows < EVENTS) {
      if (Date.now() > deadline)
        throw new Error(`only ${rows} of ${EVENTS} rows after ${DRAIN_TIMEOUT_MS} ms`);
      await sleep(POLL_MS);
      rows = await count(false);
    }
    const seconds = (performance.now() - started) / 1000;
    const produceSeconds = await producing;
    const final = await count(true);
    if (final !== EVENTS) throw new Error(`${final} rows for ${EVENTS} events: some were lost or doubled`);
    const rate = EVENTS / seconds;
    log(
      `scale: ${processes} dispatcher(s): ${Math.round(rate)} events/s (${seconds.toFixed(1)} s from the first produce to the last row; producing took ${produceSeconds.toFixed(1)} s)`,
    );
    return rate;
  } finally {
    await Promise.all(dispatchers.map(stopDispatcher));
  }
}

async function main(): Promise<void> {
  const [kafka, clickhouse] = await Promise.all([startKafkaMock(), startClickHouse()]);
  try {
    const one = await measure(kafka, clickhouse, 1, 1);
    const two = await measure(kafka, clickhouse, 2, 2);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'scale',
        one_events_per_s: Math.round(one),
        two_events_per_s: Math.round(two),
        ratio: Number((two / one).toFixed(2)),
      })}\n`,
    );
  } finally {
    await kafka.stop();
    await clickhouse.destroy();
  }
}

await main();
