import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDispatcherConfig } from '@telltale/dispatchers';

describe('resolveDispatcherConfig', () => {
  it('works with no configuration at all', () => {
    const config = resolveDispatcherConfig({}, {});
    expect(config).toEqual({
      dataDir: path.resolve('.telltale'),
      smtpUrl: undefined,
      alertTo: undefined,
      alertFrom: 'telltale@localhost',
      dashboardUrl: 'http://127.0.0.1:8080',
      pollMs: 250,
      batchSize: 100,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the environment, and explicit options win over it', () => {
    const env = {
      TELLTALE_SMTP_URL: 'smtp://mail.example.com:587',
      TELLTALE_ALERT_TO: 'a@example.com, b@example.com',
      TELLTALE_ALERT_FROM: 'Telltale <telltale@example.com>',
      TELLTALE_DASHBOARD_URL: 'https://telltale.example.com/',
    };
    expect(resolveDispatcherConfig({}, env)).toMatchObject({
      smtpUrl: 'smtp://mail.example.com:587',
      alertTo: 'a@example.com, b@example.com',
      alertFrom: 'Telltale <telltale@example.com>',
      dashboardUrl: 'https://telltale.example.com',
    });
    expect(
      resolveDispatcherConfig({ alertTo: 'c@example.com', dashboardUrl: 'http://localhost:9000' }, env),
    ).toMatchObject({
      alertTo: 'c@example.com',
      dashboardUrl: 'http://localhost:9000',
    });
  });

  it('refuses bad values, naming the field and the fix', () => {
    expect(() => resolveDispatcherConfig({ smtpUrl: 'http://mail.example.com' }, {})).toThrow(
      /TELLTALE_ERR_INVALID_CONFIG: TELLTALE_SMTP_URL: must look like smtp:/,
    );
    expect(() => resolveDispatcherConfig({ smtpUrl: 'smtp://mail.example.com' }, {})).toThrow(
      /TELLTALE_ALERT_TO: is required when TELLTALE_SMTP_URL is set/,
    );
    expect(() => resolveDispatcherConfig({}, { TELLTALE_ALERT_TO: 'not-an-address' })).toThrow(
      /TELLTALE_ALERT_TO: "not-an-address" is not an email address/,
    );
    expect(() => resolveDispatcherConfig({ dashboardUrl: 'ftp://x' }, {})).toThrow(/TELLTALE_DASHBOARD_URL/);
    expect(() => resolveDispatcherConfig({ pollMs: 0 }, {})).toThrow(/pollMs: 0 must be an integer from 10/);
    expect(() => resolveDispatcherConfig({ batchSize: 1.5 }, {})).toThrow(/batchSize/);
  });

  it('never echoes an SMTP password in an error', () => {
    expect(() => resolveDispatcherConfig({ smtpUrl: 'smtx://user:s3cret@mail' }, {})).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret') }),
    );
  });
});
