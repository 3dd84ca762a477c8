import { LRUCache } from 'lru-cache';
import UAParser from 'ua-parser-js';

export interface UserAgentInfo {
  browser: string | null;
  browserVersion: string | null;
  os: string | null;
  osVersion: string | null;
  /** `mobile`, `tablet`, `smarttv`, `console`, `wearable`, `embedded`, or `desktop` when a browser was recognised without a device type. */
  device: string | null;
}

const EMPTY: UserAgentInfo = Object.freeze({
  browser: null,
  browserVersion: null,
  os: null,
  osVersion: null,
  device: null,
});

// One app sends the same few User-Agents over and over; parsing is regex-heavy, so remember recent ones.
const CACHE_SIZE = 500;
// Real User-Agents are under 300 characters; ua-parser-js's patterns only ever see this many.
const MAX_UA_CHARS = 512;
const cache = new LRUCache<string, UserAgentInfo>({ max: CACHE_SIZE });

function parse(userAgent: string): UserAgentInfo {
  const result = new UAParser(userAgent).getResult();
  const browser = result.browser.name ?? null;
  const os = result.os.name ?? null;
  const device = result.device.type ?? (browser !== null || os !== null ? 'desktop' : null);
  return Object.freeze({
    browser,
    browserVersion: result.browser.version ?? null,
    os,
    osVersion: result.os.version ?? null,
    device,
  });
}

/** Browser, OS and device class from a User-Agent header; all null when it is missing or unknown. */
export function parseUserAgent(userAgent: string | undefined): UserAgentInfo {
  if (userAgent === undefined) return EMPTY;
  const capped = userAgent.slice(0, MAX_UA_CHARS);
  if (capped.trim() === '') return EMPTY;
  const cached = cache.get(capped);
  if (cached !== undefined) return cached;
  const info = parse(capped);
  cache.set(capped, info);
  return info;
}
