import { describe, expect, it } from 'vitest';
import { parseUserAgent } from '@telltale/dispatchers';

describe('parseUserAgent', () => {
  it('parses desktop Chrome on Windows', () => {
    expect(
      parseUserAgent(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
      ),
    ).toEqual({
      browser: 'Chrome',
      browserVersion: '124.0.0.0',
      os: 'Windows',
      osVersion: '10',
      device: 'desktop',
    });
  });

  it('parses Firefox on macOS', () => {
    expect(
      parseUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0'),
    ).toMatchObject({
      browser: 'Firefox',
      browserVersion: '125.0',
      os: 'Mac OS',
      osVersion: '10.15',
      device: 'desktop',
    });
  });

  it('parses Mobile Safari on an iPhone', () => {
    expect(
      parseUserAgent(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
      ),
    ).toEqual({
      browser: 'Mobile Safari',
      browserVersion: '17.4.1',
      os: 'iOS',
      osVersion: '17.4.1',
      device: 'mobile',
    });
  });

  it('parses Samsung Internet on an Android tablet', () => {
    expect(
      parseUserAgent(
        'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36',
      ),
    ).toMatchObject({ browser: 'Samsung Internet', os: 'Android', osVersion: '13', device: 'tablet' });
  });

  it('parses the headless Chromium the SDK tests run in', () => {
    expect(
      parseUserAgent(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
      ),
    ).toMatchObject({
      browser: 'Chrome Headless',
      os: 'Linux',
    });
  });

  it('returns nulls for missing or unknown agents', () => {
    expect(parseUserAgent(undefined)).toEqual({
      browser: null,
      browserVersion: null,
      os: null,
      osVersion: null,
      device: null,
    });
    expect(parseUserAgent('curl/8.5.0').device).toBeNull();
  });
});
