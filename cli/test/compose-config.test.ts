import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaTopics } from '@telltale/protocol';
import {
  COMPOSE_FILE,
  COMPOSE_SECRETS,
  commandOf,
  composeConfig,
  composeConfigText,
  telltaleServices,
} from './compose-file.js';
import { tempDir } from '../../test-support/wait.js';
import { REPO } from './roles-process.js';

// A pinned tag: not empty, not "latest" (an upgrade is a reviewed change of this file).
// Shared on purpose (docker-compose.yml says why): source maps, and group lifecycle + mute rules.
const SHARED_VOLUMES = ['artifacts', 'alert-state'];
const pinned = (image: string | undefined): boolean =>
  /:[\w.-]+$/.test(image ?? '') && !/:latest$/.test(image!);

describe('docker-compose.yml (validated by docker-compose 1.29 `config`, no engine needed)', () => {
  let scratch: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    scratch = await tempDir('compose-config');
  });
  afterAll(() => scratch.remove());
  it('is a valid compose file once the secrets are given, and names each secret that is missing', async () => {
    const ok = await composeConfigText(COMPOSE_SECRETS, scratch.dir);
    expect(ok.err).not.toMatch(/error/i);
    expect(ok.code).toBe(0);
    for (const name of Object.keys(COMPOSE_SECRETS)) {
      const { [name as keyof typeof COMPOSE_SECRETS]: _missing, ...rest } = COMPOSE_SECRETS;
      const refused = await composeConfigText(rest, scratch.dir);
      expect(refused.code, name).not.toBe(0);
      expect(refused.err, name).toContain(`set ${name} in .env`);
    }
    // No secret is committed: the file only refers to them; .env.example leaves them empty.
    const text = await readFile(COMPOSE_FILE, 'utf8');
    for (const value of Object.values(COMPOSE_SECRETS)) expect(text).not.toContain(value);
    const example = await readFile(path.join(REPO, '.env.example'), 'utf8');
    for (const name of Object.keys(COMPOSE_SECRETS)) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
  });

  it('runs real, pinned images: KRaft Kafka with its topics, ClickHouse, Azurite, mailpit, nginx; every Telltale role from the Dockerfile', async () => {
    const config = await composeConfig(scratch.dir);
    const services = config.services;
    expect(services.kafka?.image).toMatch(/^apache\/kafka:\d/);
    expect(services.kafka?.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller' });
    expect(JSON.stringify(services)).not.toMatch(/zookeeper/i);
    expect(services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:\d+\.\d+/);
    expect(services.azurite?.image).toMatch(/^mcr\.microsoft\.com\/azure-storage\/azurite:\d/);
    expect(services.mailpit?.image).toMatch(/^axllent\/mailpit:v\d/);
    expect(services.lb?.image).toMatch(/^nginx:\d/);
    for (const [name, service] of Object.entries(services))
      if (service.build === undefined) expect(pinned(service.image), `${name}: ${service.image}`).toBe(true);

    // The one-shot topic init makes every topic of the Kafka contract; the alert log is compacted.
    const init = commandOf(services['kafka-init']!).join(' ');
    for (const topic of Object.values(kafkaTopics('telltale.')))
      expect(init).toMatch(new RegExp(`--topic ${topic.replace('.', '\\.')} --partitions`));
    expect(init).toMatch(/--topic telltale\.alert-log [^\n]*--config cleanup\.policy=compact/);
    expect(services['kafka-init']?.depends_on).toMatchObject({ kafka: { condition: 'service_healthy' } });

    // A whole accepted batch (10 MiB, protocol's limits) fits one Kafka record: broker, replicas and
    // the two topics of spool records allow 12 MiB, so the forwarder never has to dead-letter one.
    const atLeast12MiB = (value: unknown): boolean => Number(value) >= 12 * 1024 * 1024;
    const broker = services.kafka?.environment as Record<string, unknown> | undefined;
    expect(atLeast12MiB(broker?.KAFKA_MESSAGE_MAX_BYTES), 'KAFKA_MESSAGE_MAX_BYTES').toBe(true);
    expect(atLeast12MiB(broker?.KAFKA_REPLICA_FETCH_MAX_BYTES), 'KAFKA_REPLICA_FETCH_MAX_BYTES').toBe(true);
    const initEnv = services['kafka-init']?.environment as Record<string, unknown> | undefined;
    expect(atLeast12MiB(initEnv?.MAX_MESSAGE_BYTES), 'kafka-init MAX_MESSAGE_BYTES').toBe(true);
    for (const topic of [kafkaTopics('telltale.').client, kafkaTopics('telltale.').server]) {
      const escaped = topic.replace('.', '\\.');
      expect(init).toMatch(
        new RegExp(`--topic ${escaped} [^\\n]*--config max\\.message\\.bytes="?(\\$)+MAX_MESSAGE_BYTES`),
      );
    }
    expect(init).toMatch(
      /kafka-configs\.sh [^\n]*--alter [^\n]*--add-config max\.message\.bytes="?(\$)+MAX_MESSAGE_BYTES/,
    );

    const roles = telltaleServices(config).map(([name, service]) => [name, commandOf(service)[0]]);
    expect(roles).toEqual(
      expect.arrayContaining([
        ['collector-1', 'collector'],
        ['collector-2', 'collector'],
        ['dispatcher-1', 'dispatcher'],
        ['dispatcher-2', 'dispatcher'],
        ['dashboards', 'dashboards'],
      ]),
    );
    expect(services.dashboards?.environment).toMatchObject({ TELLTALE_STORE: 'clickhouse' });
    // The load balancer sends to both collectors (deploy/compose/nginx.conf), and waits for them.
    const nginx = await readFile(path.join(REPO, 'deploy/compose/nginx.conf'), 'utf8');
    expect(nginx).toMatch(/server collector-1:8080/);
    expect(nginx).toMatch(/server collector-2:8080/);
    expect(services.lb?.depends_on).toMatchObject({
      'collector-1': { condition: 'service_healthy' },
      'collector-2': { condition: 'service_healthy' },
    });
  });

  it('gives every service a healthcheck, every dependency a condition, every spool and store a volume of its own', async () => {
    const config = await composeConfig(scratch.dir);
    const volumes = new Map<string, string>();
    for (const [name, service] of Object.entries(config.services)) {
      if (name !== 'kafka-init') expect(service.healthcheck?.test, name).toBeDefined();
      const depends = service.depends_on ?? {};
      expect(Array.isArray(depends), name).toBe(false);
      for (const [on, { condition }] of Object.entries(depends as Record<string, { condition: string }>))
        expect(['service_healthy', 'service_completed_successfully'], `${name} → ${on}`).toContain(condition);
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '');
        if (source.startsWith('/')) continue; // a bind mount (the nginx config)
        if (SHARED_VOLUMES.includes(source)) continue;
        expect(volumes.get(source), `${source} shared by ${name} and ${volumes.get(source)}`).toBeUndefined();
        volumes.set(source, name);
      }
    }
    for (const [name, service] of telltaleServices(config)) {
      const data = (service.volumes ?? []).map((v) =>
        typeof v === 'string' ? v : `${v.source}:${v.target}`,
      );
      expect(
        data.some((v) => /^[\w-]+:\/data(?::rw)?$/.test(v)),
        `${name}: ${data.join(', ')}`,
      ).toBe(true);
    }
    for (const store of ['kafka', 'clickhouse', 'azurite']) expect([...volumes.values()]).toContain(store);
    // Every process that decides alerts or changes their rules sees the same alert state.
    for (const name of ['dispatcher-1', 'dispatcher-2', 'dashboards'])
      expect(config.services[name]?.volumes, name).toContain('alert-state:/data/alerts:rw');
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on Node 20 slim, installs production dependencies only, runs as a non-root user with a healthcheck', async () => {
    const text = await readFile(path.join(REPO, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20[\w.-]*-slim$/m);
    const stages = text.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1)!;
    expect(runtime).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(runtime).toMatch(/^USER (?!root\b|0\b)\w+/m);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "cli\/bin\/telltale\.js"\]/m);
    // Every workspace reaches the image: its manifest in both stages, its build in the runtime one.
    const { workspaces } = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as {
      workspaces: string[];
    };
    for (const workspace of workspaces) {
      expect(stages[0], workspace).toContain(`COPY ${workspace}/package.json ${workspace}/`);
      expect(runtime, workspace).toContain(`/src/${workspace}/package.json ${workspace}/`);
      expect(runtime, workspace).toContain(`/src/${workspace}/dist ${workspace}/dist`);
    }
    const ignore = await readFile(path.join(REPO, '.dockerignore'), 'utf8');
    for (const kept of ['**/node_modules', '**/dist', '.env', '.telltale']) expect(ignore).toContain(kept);
  });
});
