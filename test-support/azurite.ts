// Azurite's Blob service on 127.0.0.1, data in a temp dir (/work/shared/REAL-SERVICES.md).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited } from './processes.js';
import { listensOn, withFreshPorts } from './ports.js';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The well-known development account every Azurite accepts. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  connectionString: string;
  stop(): Promise<void>;
}

/** A port another process took is retried on another. */
export async function startAzurite(): Promise<Azurite> {
  const bin = path.join(ROOT, 'node_modules', '.bin', 'azurite-blob');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npm ci" (azurite is a dev dependency)`);
  return withFreshPorts(1, async ([port]) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-azurite-'));
    let stderr = '';
    const child = spawn(
      bin,
      [
        '--location',
        dir,
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--skipApiVersionCheck',
        '--silent',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const stop = async (): Promise<void> => {
      child.kill('SIGTERM');
      await exited(child);
      await rm(dir, { recursive: true, force: true });
    };
    try {
      const outcome = await waitFor(
        'azurite-blob',
        async () =>
          child.exitCode !== null || child.signalCode !== null
            ? 'exited'
            : (await listensOn(child.pid!, port!)) && 'up',
        30_000,
        100,
      );
      if (outcome === 'exited') throw new Error('azurite-blob exited');
    } catch (error) {
      await stop();
      throw new Error(`${(error as Error).message}\n${stderr}`);
    }
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
    return { connectionString, stop };
  });
}
