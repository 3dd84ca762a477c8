import { LIMITS, TelltaleError } from '@telltale/protocol';
import { describe, expect, it } from 'vitest';
import { resolveCollectorConfig } from '../src/index.js';
import { APPS, WEB_KEY } from './helpers.js';

const fails = (fn: () => unknown, field: string) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TelltaleError);
    expect((error as TelltaleError).code).toBe('TELLTALE_ERR_INVALID_CONFIG');
    expect((error as Error).message).toContain(`${field}:`);
    return (error as Error).message;
  }
  throw new Error(`expected a config error on ${field}`);
};

describe('collector config', () => {
  it('fills limits from the protocol, trustProxy false, and freezes everything', () => {
    const config = resolveCollectorConfig({ apps: APPS }, {});
    expect(config.limits).toEqual({
      maxCompressedBytes: LIMITS.maxCompressedBytes,
      maxDecompressedBytes: LIMITS.maxDecompressedBytes,
    });
    expect(config.trustProxy).toBe(false);
    expect(
      Object.isFrozen(config) && Object.isFrozen(config.apps) && Object.isFrozen(config.apps[0]!.ingestKeys),
    ).toBe(true);
  });

  it('reads TELLTALE_* when options do not say, and options win over the environment', () => {
    const env = {
      TELLTALE_APPS: JSON.stringify(APPS),
      TELLTALE_MAX_COMPRESSED_BYTES: '2048',
      TELLTALE_MAX_DECOMPRESSED_BYTES: '8192',
      TELLTALE_TRUST_PROXY: 'true',
    };
    expect(resolveCollectorConfig({}, env)).toMatchObject({
      apps: APPS,
      limits: { maxCompressedBytes: 2048, maxDecompressedBytes: 8192 },
      trustProxy: true,
    });
    const explicit = resolveCollectorConfig(
      { apps: [APPS[0]!], limits: { maxCompressedBytes: 1024 }, trustProxy: false },
      env,
    );
    expect(explicit).toMatchObject({
      apps: [APPS[0]],
      limits: { maxCompressedBytes: 1024, maxDecompressedBytes: 8192 },
      trustProxy: false,
    });
  });

  it('stops start-up naming the field and the fix', () => {
    expect(fails(() => resolveCollectorConfig({}, {}), 'apps')).toMatch(/TELLTALE_APPS/);
    fails(() => resolveCollectorConfig({}, { TELLTALE_APPS: '[{' }), 'TELLTALE_APPS');
    fails(
      () => resolveCollectorConfig({ apps: [{ id: 'has space', name: 'x', ingestKeys: [WEB_KEY] }] }, {}),
      'apps[0].id',
    );
    fails(
      () => resolveCollectorConfig({ apps: [{ id: 'web', name: '', ingestKeys: [WEB_KEY] }] }, {}),
      'apps[0].name',
    );
    fails(
      () => resolveCollectorConfig({ apps: [{ id: 'web', name: 'Web', ingestKeys: [] }] }, {}),
      'apps[0].ingestKeys',
    );
    const short = fails(
      () => resolveCollectorConfig({ apps: [{ id: 'web', name: 'Web', ingestKeys: ['secret-short'] }] }, {}),
      'apps[0].ingestKeys[0]',
    );
    expect(short).not.toContain('secret-short');
    fails(
      () => resolveCollectorConfig({ apps: [APPS[0]!, { ...APPS[1]!, ingestKeys: [WEB_KEY] }] }, {}),
      'apps[1].ingestKeys[0]',
    );
    fails(() => resolveCollectorConfig({ apps: [APPS[0]!, { ...APPS[1]!, id: 'web' }] }, {}), 'apps[1].id');
    fails(
      () => resolveCollectorConfig({ apps: APPS, limits: { maxCompressedBytes: 0 } }, {}),
      'limits.maxCompressedBytes',
    );
    fails(
      () =>
        resolveCollectorConfig(
          { apps: APPS, limits: { maxCompressedBytes: 4096, maxDecompressedBytes: 1024 } },
          {},
        ),
      'limits.maxDecompressedBytes',
    );
    fails(
      () => resolveCollectorConfig({ apps: APPS }, { TELLTALE_MAX_COMPRESSED_BYTES: '1MB' }),
      'TELLTALE_MAX_COMPRESSED_BYTES',
    );
    fails(
      () => resolveCollectorConfig({ apps: APPS }, { TELLTALE_TRUST_PROXY: 'maybe' }),
      'TELLTALE_TRUST_PROXY',
    );
    fails(() => resolveCollectorConfig({ apps: APPS, trustproxy: true } as never, {}), 'trustproxy');
  });
});
