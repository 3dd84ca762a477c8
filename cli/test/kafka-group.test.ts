// Collectors → Kafka → a consumer group of dispatchers → ClickHouse, as real processes
// (`telltale collector`, `telltale dispatcher`) on the librdkafka mock cluster and Debian's
// ClickHouse 18.16: a dispatcher killed with SIGKILL mid-stream loses nothing and doubles nothing.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClickHouse, type ClickHouseServer } from '../../test-support/clickhouse.js';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import { startTelltaleProcess, type TelltaleProcess } from './roles-process.js';

const INGEST_KEY = 'tt_live_kafka_group_ingest_01';
const EVENTS_PER_BATCH = 5;
const SESSIONS = 40;

let kafka: KafkaMockCluster;
let clickhouse: ClickHouseServer;
let data: Awaited<ReturnType<typeof tempDir>>;
const running: TelltaleProcess[] = [];

beforeAll(async () => {
  [kafka, clickhouse, data] = await Promise.all([
    startKafkaMock(),
    startClickHouse(),
    tempDir('kafka-group'),
  ]);
  // One after the other: each start is a Node process on a busy machine.
  collectors.push(await startCollector('collector-1'), await startCollector('collector-2'));
  dispatchers.push(await startDispatcher('dispatcher-1'), await startDispatcher('dispatcher-2'));
}, 300_000);
afterAll(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
  await Promise.all([kafka?.stop(), clickhouse?.destroy(), data?.remove()]);
});

function batch(n: number, tag: string): string {
  const session = `s-${n % SESSIONS}`;
  return JSON.stringify({
    v: 1,
    batchId: `${tag}-b-${n}`,
    sentAt: Date.now(),
    release: '1.0.0',
    environment: 'test',
    session,
    events: Array.from({ length: EVENTS_PER_BATCH }, (_, i) => ({
      id: `${tag}-${n}-${i}`,
      ts: Date.now(),
      kind: 'feature',
      name: `feature-${i % 3}`,
    })),
  });
}

async function send(collector: string, n: number, tag: string): Promise<void> {
  const response = await fetch(`${collector}/v1/batch?key=${INGEST_KEY}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: batch(n, tag),
  });
  await response.arrayBuffer();
  expect(response.status).toBe(202);
}

const count = async (sql: string): Promise<number> => Number((await clickhouse.query(sql)).trim());
/** Rows of one test's events (ids start with its tag), as the dashboards count them (FINAL). */
const stored = (tag: string): Promise<number> =>
  count(`SELECT count() FROM telltale.events FINAL WHERE startsWith(id, '${tag}-')`);
/** Resolves once `sent` rows of `tag` are stored; the timeout names how many were (lost vs slow). */
const allStored = (tag: string, sent: number, timeoutMs: number): Promise<true> =>
  waitFor(
    'every event in ClickHouse',
    async () => {
      const rows = await stored(tag);
      if (rows >= sent) return true;
      throw new Error(`${rows} of ${sent} stored`);
    },
    timeoutMs,
    500,
  );
const distinct = (tag: string): Promise<number> =>
  count(`SELECT uniqExact(id) FROM telltale.events WHERE startsWith(id, '${tag}-')`);

const APPS = JSON.stringify([{ id: 'web', name: 'Web', ingestKeys: [INGEST_KEY], secretKeys: [] }]);
const BASE = {
  TELLTALE_KAFKA_IDEMPOTENT: '0',
  TELLTALE_KAFKA_TOPIC_PREFIX: 'group.',
  TELLTALE_DISPATCH_THREADS: '1',
  // Load from one address, hundreds of batches a second: the rate limits are not under test here.
  TELLTALE_RATE_LIMIT_PER_IP: '0',
  TELLTALE_RATE_LIMIT_PER_KEY: '0',
};

function startCollector(name: string): Promise<TelltaleProcess> {
  return track(
    startTelltaleProcess(['collector'], {
      ...BASE,
      TELLTALE_KAFKA_BROKERS: kafka.bootstrap,
      TELLTALE_APPS: APPS,
      TELLTALE_PORT: '0',
      TELLTALE_DATA_DIR: path.join(data.dir, name),
    }),
  );
}

function startDispatcher(name: string): Promise<TelltaleProcess> {
  return track(
    startTelltaleProcess(['dispatcher'], {
      ...BASE,
      TELLTALE_KAFKA_BROKERS: kafka.bootstrap,
      TELLTALE_OPS_PORT: '0',
      TELLTALE_DATA_DIR: path.join(data.dir, name),
      TELLTALE_SINKS: 'clickhouse',
      TELLTALE_CLICKHOUSE_URL: clickhouse.url,
      // A killed member's partitions move after this long (production: 30 s).
      TELLTALE_KAFKA_SESSION_TIMEOUT_MS: '6000',
    }),
  );
}

async function track(started: Promise<TelltaleProcess>): Promise<TelltaleProcess> {
  const p = await started;
  running.push(p);
  return p;
}

function forget(p: TelltaleProcess): void {
  running.splice(running.indexOf(p), 1);
}

const collectors: TelltaleProcess[] = [];
const dispatchers: TelltaleProcess[] = [];

describe('two collectors, two dispatchers in one consumer group (mock Kafka, ClickHouse 18.16)', () => {
  it('kill -9 one dispatcher mid-stream and restart it: row count = distinct ids = events sent', async () => {
    const TOTAL = 600;
    let n = 0;
    const sendUpTo = async (limit: number): Promise<void> => {
      for (; n < limit; n += 1) await send(collectors[n % 2]!.url, n, 'kill');
    };
    await sendUpTo(200);
    await waitFor('the first rows in ClickHouse', async () => (await stored('kill')) > 0, 60_000, 200);

    // SIGKILL: no commit, no leave-group; the group notices after the session timeout.
    const victim = dispatchers[1]!;
    await victim.kill();
    forget(victim);
    await sendUpTo(400);
    dispatchers[1] = await startDispatcher('dispatcher-2');
    await sendUpTo(TOTAL);

    const sent = TOTAL * EVENTS_PER_BATCH;
    await allStored('kill', sent, 120_000);
    expect(await stored('kill')).toBe(sent);
    expect(await distinct('kill')).toBe(sent);
    // Merged: a reader without FINAL counts the same (the killed member's uncommitted records were
    // delivered again and the copies folded on (app, kind, ts, id)).
    await clickhouse.query('OPTIMIZE TABLE telltale.events FINAL');
    expect(await count(`SELECT count() FROM telltale.events WHERE startsWith(id, 'kill-')`)).toBe(sent);
  }, 300_000);

  it('Kafka frozen for 30 s under load: the collectors keep answering 202; afterwards every event is stored once', async () => {
    let n = 0;
    const sendFor = async (ms: number): Promise<void> => {
      const until = Date.now() + ms;
      // Bounded in count as well as time.
      for (const limit = n + 5_000; n < limit && Date.now() < until; n += 1)
        await send(collectors[n % 2]!.url, n, 'freeze');
    };
    await sendFor(3_000);
    kafka.freeze();
    try {
      await sendFor(30_000);
      for (const c of collectors) expect((await fetch(`${c.url}/readyz`)).status).toBe(200);
    } finally {
      kafka.thaw();
    }
    await sendFor(3_000);
    const sent = n * EVENTS_PER_BATCH;
    expect(n).toBeGreaterThan(50);
    await allStored('freeze', sent, 180_000).catch((error: unknown) => {
      // What each process said (rejoins, crashes, refused commits, produce failures), so a CI log
      // tells lost from stuck and which side stuck.
      const said = [...dispatchers, ...collectors].map(
        (p, i) => `process ${i + 1}: ${p.output().slice(-3_000)}`,
      );
      throw new Error(`${String(error)}\n${said.join('\n')}`);
    });
    expect(await stored('freeze')).toBe(sent);
    expect(await distinct('freeze')).toBe(sent);

    for (const p of [...dispatchers, ...collectors]) {
      const started = Date.now();
      const code = await p.stop();
      // The process's own words in the failure, so a CI log shows which step it waited for.
      const after = `${Date.now() - started} ms after SIGTERM: ${p.output().slice(-2_000)}`;
      expect(code, after).toBe(0);
      forget(p);
    }
  }, 300_000);
});
