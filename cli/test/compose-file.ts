// docker-compose.yml as Debian's docker-compose 1.29 resolves it (anchors merged, variables
// interpolated): the same view `docker compose up` acts on. No Docker engine is needed for `config`.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './roles-process.js';

export const DOCKER_COMPOSE = '/usr/bin/docker-compose';
export const COMPOSE_FILE = path.join(REPO, 'docker-compose.yml');

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | null>;
  volumes?: (string | { source?: string; target: string; type?: string })[];
  ports?: (string | { target: number; published?: number | string })[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string };
  restart?: string;
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Values for the variables docker-compose.yml requires (what a filled-in .env gives it). */
export const COMPOSE_SECRETS = {
  TELLTALE_API_TOKEN: 'compose-test-token-0123456789-abcdefghij',
  CLICKHOUSE_PASSWORD: 'compose-test-clickhouse-password',
  AZURITE_ACCOUNT_KEY: Buffer.from('compose-test-azurite-account-key').toString('base64'),
  TELLTALE_APPS: JSON.stringify([
    { id: 'web', name: 'Web', projectId: 2, ingestKeys: ['tt_live_compose_ingest_0001'], secretKeys: [] },
  ]),
};

function requireDockerCompose(): void {
  if (!existsSync(DOCKER_COMPOSE))
    throw new Error(
      `${DOCKER_COMPOSE} is missing: install it with "apt-get install -y docker-compose" (scripts/test-prereqs.sh does)`,
    );
}

/**
 * Runs `docker-compose -f docker-compose.yml config` with exactly `env` (plus PATH); never reads a
 * .env. `scratch`: a temp dir of the caller's, for the empty env file.
 */
export async function composeConfigText(
  env: Record<string, string>,
  scratch: string,
): Promise<{ code: number; out: string; err: string }> {
  requireDockerCompose();
  // An empty env file: a developer's own .env in the repository is never read.
  const dir = await mkdtemp(path.join(scratch, 'compose-'));
  const envFile = path.join(dir, 'empty.env');
  await writeFile(envFile, '');
  return promisify(execFile)(DOCKER_COMPOSE, ['-f', COMPOSE_FILE, '--env-file', envFile, 'config'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    cwd: REPO,
  })
    .then(
      ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof error.code === 'number' ? error.code : 1,
        out: error.stdout ?? '',
        err: error.stderr ?? '',
      }),
    )
    .finally(() => rm(dir, { recursive: true, force: true }));
}

/** The resolved compose file as JSON (PyYAML, which docker-compose itself runs on, does the parsing). */
export async function composeConfig(
  scratch: string,
  env: Record<string, string> = COMPOSE_SECRETS,
): Promise<ComposeConfig> {
  const { code, out, err } = await composeConfigText(env, scratch);
  if (code !== 0) throw new Error(`docker-compose config failed (${code}): ${err}`);
  const child = spawn(
    'python3',
    ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let json = '';
  let problems = '';
  child.stdout.on('data', (chunk: Buffer) => (json += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (problems += chunk.toString()));
  child.stdin.end(out);
  const exit = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (exit !== 0) throw new Error(`could not read docker-compose config output as YAML: ${problems}`);
  return JSON.parse(json) as ComposeConfig;
}

/** A compose `command` as an argument list. */
export const commandOf = (service: ComposeService): string[] =>
  service.command === undefined
    ? []
    : typeof service.command === 'string'
      ? service.command.split(' ')
      : service.command;

/** The services built from this repository's Dockerfile: the Telltale processes. */
export const telltaleServices = (config: ComposeConfig): [string, ComposeService][] =>
  Object.entries(config.services).filter(([, service]) => service.build !== undefined);
