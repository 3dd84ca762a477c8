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
      maxPublicDecompressedBytes: LIMITS.maxDecompressedBytes,
      maxAttachmentBytes: 2 * 1024 * 1024,
      maxBodyValues: 512_000,
      maxBodyLines: 2000,
    });
    expect(config.rateLimits).toEqual({
      perKey: { perSecond: 1000, burst: 2000 },
      perIp: { perSecond: 100, burst: 200 },
    });
    expect(config.timeouts).toEqual({ headersMs: 10_000, requestMs: 30_000, keepAliveMs: 65_000 });
    expect(config.connections).toEqual({ max: 10_000, perIp: 256 });
    expect(config.storage).toEqual({ spoolMaxBytes: 1024 ** 3, attachmentsMaxBytes: 1024 ** 3 });
    expect(config.apps[1]).toMatchObject({ secretKeys: [], allowedOrigins: [], revokedKeys: [] });
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
      // `true` (trust anyone) is refused since issue 9: a proxy list instead.
      TELLTALE_TRUST_PROXY: '10.0.0.1',
    };
    expect(resolveCollectorConfig({}, env)).toMatchObject({
      apps: APPS.map((app) => expect.objectContaining(app)),
      limits: { maxCompressedBytes: 2048, maxDecompressedBytes: 8192 },
      trustProxy: ['10.0.0.1'],
    });
    const explicit = resolveCollectorConfig(
      { apps: [APPS[0]!], limits: { maxCompressedBytes: 1024 }, trustProxy: false },
      env,
    );
    expect(explicit).toMatchObject({
      apps: [expect.objectContaining(APPS[0])],
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

  it('reads the rate limits, timeouts, connection caps and disk caps, and refuses bad ones by name', () => {
    const config = resolveCollectorConfig(
      { apps: APPS },
      {
        TELLTALE_RATE_LIMIT_PER_KEY: '10',
        TELLTALE_RATE_LIMIT_PER_IP: '0',
        TELLTALE_HEADERS_TIMEOUT_MS: '2000',
        TELLTALE_MAX_CONNECTIONS_PER_IP: '0',
        TELLTALE_SPOOL_DISK_CAP_BYTES: '1048576',
        TELLTALE_MAX_ATTACHMENT_BYTES: '4096',
      },
    );
    expect(config.rateLimits).toEqual({
      perKey: { perSecond: 10, burst: 20 },
      perIp: { perSecond: 0, burst: 0 },
    });
    expect(config.timeouts.headersMs).toBe(2000);
    expect(config.connections.perIp).toBe(0);
    expect(config.storage.spoolMaxBytes).toBe(1048576);
    expect(config.limits.maxAttachmentBytes).toBe(4096);

    fails(
      () => resolveCollectorConfig({ apps: APPS }, { TELLTALE_RATE_LIMIT_PER_IP: 'lots' }),
      'TELLTALE_RATE_LIMIT_PER_IP',
    );
    fails(
      () => resolveCollectorConfig({ apps: APPS, rateLimits: { perKey: { perSecond: 5, burst: 0 } } }, {}),
      'rateLimits.perKey.burst',
    );
    fails(
      () => resolveCollectorConfig({ apps: APPS, timeouts: { headersMs: 60_000, requestMs: 1000 } }, {}),
      'timeouts.headersMs',
    );
    fails(
      () => resolveCollectorConfig({ apps: APPS }, { TELLTALE_SPOOL_DISK_CAP_BYTES: '10' }),
      'TELLTALE_SPOOL_DISK_CAP_BYTES',
    );
    fails(() => resolveCollectorConfig({ apps: APPS, storage: { spool: 1 } } as never, {}), 'storage.spool');
  });

  it('validates origins and revoked keys of each app, naming the field', () => {
    const app = { ...APPS[0]!, allowedOrigins: ['https://App.Example.com', 'http://localhost:5173'] };
    expect(resolveCollectorConfig({ apps: [app] }, {}).apps[0]!.allowedOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    for (const origin of ['https://app.example.com/path', 'app.example.com', 'ftp://x.example', '*'])
      fails(
        () => resolveCollectorConfig({ apps: [{ ...APPS[0]!, allowedOrigins: [origin] }] }, {}),
        'apps[0].allowedOrigins[0]',
      );
    fails(
      () => resolveCollectorConfig({ apps: [{ ...APPS[0]!, revokedKeys: ['tt_old_key_0123456789'] }] }, {}),
      'apps[0].revokedKeys[0]',
    );
    fails(
      () => resolveCollectorConfig({ apps: [{ ...APPS[0]!, secretKeys: [WEB_KEY] }] }, {}),
      'apps[0].secretKeys[0]',
    );
  });
});
