import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataLayout } from '@telltale/protocol';
import { collectorPaths } from '@telltale/collector';
import { artifactsRoot, checkpointFile, spoolsOf } from '@telltale/dispatchers';

const root = path.resolve('/srv/telltale-data');

describe('data layout', () => {
  it('puts every path under the data directory and no two in the same place', () => {
    const layout = dataLayout(root);
    const paths = [
      ...(['client', 'server', 'blob'] as const).map((s) => layout.spool(s)),
      layout.checkpoint('duckdb'),
      layout.forwardCheckpoint('client'),
      layout.forwardCheckpoint('server'),
      layout.deadLetter('duckdb'),
      layout.deadLetter('kafka-forward'),
      layout.attachments,
      layout.artifacts,
      layout.alertGroups,
      layout.alertLog,
      layout.muteRules,
      layout.outbox,
      layout.blobSourceCheckpoint('archive'),
      layout.accessFile,
      layout.duckdb,
      layout.demoApp,
      layout.demoApiBuffer,
    ];
    for (const p of paths) expect(path.relative(root, p).startsWith('..')).toBe(false);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('is where the collector writes and the dispatchers read', () => {
    const layout = dataLayout(root);
    const collector = collectorPaths(root);
    const spools = spoolsOf(root);
    expect(spools.map((s) => s.dir)).toEqual([
      collector.clientSpool,
      collector.serverLogSpool,
      layout.spool('blob'),
    ]);
    expect(checkpointFile(root, 'duckdb')).toBe(layout.checkpoint('duckdb'));
    expect(artifactsRoot(root)).toBe(layout.artifacts);
  });
});
