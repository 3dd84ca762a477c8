import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../test-support/azurite.js';
import { startClickHouse, type ClickHouseServer } from '../../test-support/clickhouse.js';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { startSmtpServer, type SmtpServer } from '../../test-support/smtp.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import {
  COMPOSE_SECRETS,
  commandOf,
  composeConfig,
  telltaleServices,
  type ComposeConfig,
  type ComposeService,
} from './compose-file.js';
import { startTelltaleProcess, type TelltaleProcess } from './roles-process.js';

const INGEST_KEY = 'tt_live_compose_ingest_0001'; // the key of COMPOSE_SECRETS.TELLTALE_APPS
const auth = { authorization: `Bearer ${COMPOSE_SECRETS.TELLTALE_API_TOKEN}` };
const SESSIONS = 24;
const BATCHES = 48;
const EVENTS_PER_BATCH = 10;

/**
 * docker-compose.yml's Telltale services as local processes: each with its service's command and
 * environment, the service host names it uses mapped to 127.0.0.1 and the test's real ports (the
 * librdkafka mock cluster for Kafka, Debian's ClickHouse 18.16, an SMTP server for mailpit, Azurite),
 * its volume a temp dir, its listeners on loopback and free ports. The load balancer is replaced by
 * posting to both collectors in turn.
 */
describe('the docker-compose topology, every Telltale service as a local process', () => {
  let scratch: Awaited<ReturnType<typeof tempDir>>;
  let kafka: KafkaMockCluster;
  let clickhouse: ClickHouseServer;
  let smtp: SmtpServer;
  let azurite: Azurite;
  let config: ComposeConfig;
  const running = new Map<string, TelltaleProcess>();

  beforeAll(async () => {
    scratch = await tempDir('compose-topology');
    config = await composeConfig(scratch.dir);
    // Azurite takes the compose file's own account (AZURITE_ACCOUNTS of its azurite service).
    const accounts = config.services.azurite?.environment?.AZURITE_ACCOUNTS;
    process.env.AZURITE_ACCOUNTS = String(accounts);
    [kafka, clickhouse, smtp, azurite] = await Promise.all([
      startKafkaMock(),
      startClickHouse(),
      startSmtpServer(),
      startAzurite().finally(() => delete process.env.AZURITE_ACCOUNTS),
    ]);
  });
  afterAll(async () => {
    await Promise.all([...running.values()].map((p) => p.kill()));
    await Promise.all([kafka?.stop(), clickhouse?.destroy(), smtp?.close(), azurite?.stop()]);
    await scratch?.remove();
  });

  /** host:port of a compose service → where the test runs it. */
  const addresses = (): Record<string, string> => ({
    'kafka:9092': kafka.bootstrap,
    'clickhouse:8123': new URL(clickhouse.url).host,
    'mailpit:1025': `127.0.0.1:${smtp.port}`,
    'azurite:10000': /BlobEndpoint=http:\/\/([^/;]+)/.exec(azurite.connectionString)![1]!,
  });

  function localEnv(
    name: string,
    environment: Record<string, string | number | null>,
  ): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(environment)) {
      let text = value === null ? '' : String(value);
      for (const [from, to] of Object.entries(addresses())) text = text.split(from).join(to);
      env[key] = text;
    }
    return {
      ...env,
      // The service's volume, and loopback listeners on free ports (the image sets 0.0.0.0 and fixed ports).
      TELLTALE_DATA_DIR: path.join(scratch.dir, name),
      TELLTALE_HOST: '127.0.0.1',
      TELLTALE_PORT: '0',
      TELLTALE_OPS_HOST: '127.0.0.1',
      TELLTALE_OPS_PORT: '0',
      // The mock cluster cannot initialise kafkajs's idempotent producer (REAL-SERVICES.md).
      TELLTALE_KAFKA_IDEMPOTENT: '0',
      // With the default 30 s, a second dispatcher's start waits out the first one's rebalances
      // group by group (minutes on this machine; reported in issue #12): shorter sessions here.
      TELLTALE_KAFKA_SESSION_TIMEOUT_MS: '6000',
      // 18.16 from Debian knows only users.xml's password-less "default" user (no CREATE USER yet).
      ...(env.TELLTALE_CLICKHOUSE_URL === undefined
        ? {}
        : { TELLTALE_CLICKHOUSE_USER: 'default', TELLTALE_CLICKHOUSE_PASSWORD: '' }),
    };
  }

  /**
   * The service's volumes: its own at /data is its data dir; a shared one mounted below /data
   * (artifacts, alert-state) is one folder of the test's, linked into each data dir that mounts it.
   */
  async function mountVolumes(name: string, service: ComposeService): Promise<void> {
    const dataDir = path.join(scratch.dir, name);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    for (const volume of service.volumes ?? []) {
      const [source, target] =
        typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
      if (source === undefined || target === undefined || !target.startsWith('/data/')) continue;
      const shared = path.join(scratch.dir, 'volumes', source);
      await mkdir(shared, { recursive: true, mode: 0o700 });
      await symlink(shared, path.join(dataDir, target.slice('/data/'.length)));
    }
  }

  it('events from many sessions through both collectors reach ClickHouse once each and show in the dashboards process', async () => {
    const services = telltaleServices(config);
    // The compose file's order of start: collectors, dispatchers, dashboards (depends_on).
    const order = ['collector', 'dispatcher', 'dashboards'];
    services.sort(([, a], [, b]) => order.indexOf(commandOf(a)[0]!) - order.indexOf(commandOf(b)[0]!));
    expect(services.map(([, s]) => commandOf(s)[0])).toEqual([
      'collector',
      'collector',
      'dispatcher',
      'dispatcher',
      'dashboards',
    ]);
    for (const [name, service] of services) {
      await mountVolumes(name, service);
      const p = await startTelltaleProcess(commandOf(service), localEnv(name, service.environment ?? {}), {
        timeoutMs: 180_000,
      });
      running.set(name, p);
      const ops = await waitFor(
        `${name} ready`,
        async () => {
          // With the token the 503 names its reasons (a consumer group not joined, and why).
          const answer = await fetch(`${p.url}/readyz`, { headers: auth });
          if (answer.status !== 200) throw new Error(`${answer.status} ${await answer.text()}`);
          return true;
        },
        90_000,
        250,
      );
      expect(ops).toBe(true);
    }
    const collectors = services
      .filter(([, s]) => commandOf(s)[0] === 'collector')
      .map(([n]) => running.get(n)!);
    const dashboards = running.get('dashboards')!;

    const ids = new Set<string>();
    for (let n = 0; n < BATCHES; n++) {
      const session = `session-${n % SESSIONS}`;
      const events = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => {
        const id = `${session}-${n}-${i}`;
        ids.add(id);
        return i === 0
          ? {
              id,
              ts: Date.now(),
              kind: 'error',
              type: 'TypeError',
              message: `boom ${n % 3}`,
              stack: 'TypeError: x\n    at f (app.js:1:1)',
            }
          : { id, ts: Date.now(), kind: 'feature', name: `feature-${i % 4}` };
      });
      const answer = await fetch(`${collectors[n % collectors.length]!.url}/v1/batch?key=${INGEST_KEY}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({
          v: 1,
          batchId: `b-${n}`,
          sentAt: Date.now(),
          release: '1.0.0',
          environment: 'compose',
          session,
          events,
        }),
      });
      expect(answer.status).toBe(202);
    }

    const database = String(config.services['dispatcher-1']!.environment!.TELLTALE_CLICKHOUSE_DATABASE);
    const stored = await waitFor(
      'every event in ClickHouse',
      async () => {
        const [rows, distinct] = (
          await clickhouse.query(`SELECT count(), uniqExact(id) FROM ${database}.events FINAL`)
        )
          .trim()
          .split('\t')
          .map(Number);
        return distinct === ids.size ? { rows, distinct } : undefined;
      },
      120_000,
      500,
    );
    expect(stored.distinct).toBe(BATCHES * EVENTS_PER_BATCH);
    expect(stored.rows).toBe(stored.distinct); // FINAL: a re-sent event counts once

    // The dashboards process reads the same ClickHouse through its API.
    const stats = (await (await fetch(`${dashboards.url}/api/stats`, { headers: auth })).json()) as {
      events: { error: number; feature: number };
    };
    expect(stats.events).toMatchObject({ error: BATCHES, feature: BATCHES * (EVENTS_PER_BATCH - 1) });
    const errors = (await (await fetch(`${dashboards.url}/api/errors`, { headers: auth })).json()) as {
      groups: { count: number }[];
    };
    expect(errors.groups.reduce((sum, g) => sum + g.count, 0)).toBe(BATCHES);
    const listed = (await (
      await fetch(`${dashboards.url}/api/events?limit=1000`, { headers: auth })
    ).json()) as {
      events: { id: string }[];
    };
    expect(new Set(listed.events.map((e) => e.id))).toEqual(ids);

    // The new error group alerts once, through the compose file's SMTP (mailpit there, a real
    // SMTP server here), however many dispatchers saw its events.
    await waitFor(
      'the new-error email',
      () =>
        smtp.messages.some((m) => m.subject.startsWith('[Telltale] New error in web: TypeError')) ||
        undefined,
      90_000,
      250,
    );
    const subjects = smtp.messages.map((m) => m.subject);
    expect(new Set(subjects).size, subjects.join('\n')).toBe(subjects.length);

    // Each dispatcher is a connected member of every group it runs (one per sink and topic, alerts).
    // A member can be between generations for a moment (a rebalance after the load): it must be back soon.
    for (const [name] of services.filter(([, s]) => commandOf(s)[0] === 'dispatcher')) {
      let text = '';
      let notConnected: string[] = [];
      let groups = 0;
      const scrape = async (): Promise<true | undefined> => {
        text = await (await fetch(`${running.get(name)!.url}/metrics`, { headers: auth })).text();
        const connected = [
          ...text.matchAll(/^telltale_kafka_consumer_connected\{group="([^"]+)"\} (\d+)$/gm),
        ];
        groups = connected.length;
        notConnected = connected.filter((m) => m[2] !== '1').map((m) => m[1]!);
        return (groups >= 3 && notConnected.length === 0) || undefined;
      };
      await waitFor(`${name}: every Kafka group connected`, scrape, 60_000, 500).catch(() => undefined);
      expect(groups, name).toBeGreaterThanOrEqual(3);
      expect(notConnected, name).toEqual([]);
      expect(text, name).toMatch(/^telltale_kafka_consumer_restarts_total\{group="[^"]+"\} \d+$/m);
    }

    // Every role stops cleanly on SIGTERM (what `docker compose stop` sends).
    for (const [name, p] of [...running].reverse()) {
      expect(await p.stop(), name).toBe(0);
      running.delete(name);
    }
  }, 600_000);
});
