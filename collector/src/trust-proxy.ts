import { BlockList, isIP } from 'node:net';
import { invalidConfig as invalid } from '@telltale/protocol';

/**
 * Which reverse proxies may speak for the client in `X-Forwarded-For`: none (`false`), only peers
 * in a list of addresses / CIDRs, or the last `hops` hops whoever they are. Never "anyone": with
 * `true` every sender could choose the address the per-IP limits key on. Each form is what
 * fastify's `trustProxy` takes as it is (fastify 5 ignores a bare number, so hops are a function).
 */
export type TrustProxy = false | string[] | HopTrust;

/** Trust the first `hops` addresses counted from the socket peer (proxy-addr's `trust(addr, i)`). */
export type HopTrust = ((address: string, hop: number) => boolean) & { readonly hops: number };

export const trustHops = (hops: number): HopTrust =>
  Object.assign((_address: string, hop: number) => hop < hops, { hops });

/** proxy-addr's names (fastify passes the list on to it), as the ranges they stand for. */
const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

const MAX_HOPS = 16;
const HOW_TO_FIX =
  'set a hop count (e.g. 1 for one proxy in front) or the proxies\' addresses or CIDRs, e.g. "10.0.0.1,192.168.0.0/16,fd00::/8"';

/** One entry of the list: an address, a CIDR, or a proxy-addr name; undefined when it is none. */
function checkEntry(entry: string): string | undefined {
  if (entry in NAMED_RANGES) return entry;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return undefined;
  if (prefix === undefined) return address;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  return bits >= 0 && bits <= (family === 4 ? 32 : 128) ? `${address}/${bits}` : undefined;
}

function fromList(entries: readonly unknown[], field: string): string[] {
  if (entries.length === 0) invalid(field, `is an empty list; ${HOW_TO_FIX}, or leave it unset`);
  return entries.map((raw, i) => {
    const entry = typeof raw === 'string' ? raw.trim() : '';
    if (entry === '*') invalid(field, `"*" would trust any sender's X-Forwarded-For; ${HOW_TO_FIX}`);
    const checked = checkEntry(entry);
    if (checked === undefined)
      invalid(
        field,
        `entry ${i + 1}, "${String(raw)}", is not an IP address or CIDR (or loopback, linklocal, uniquelocal); ${HOW_TO_FIX}`,
      );
    return checked;
  });
}

function fromHops(hops: number, field: string): number {
  if (!Number.isSafeInteger(hops) || hops < 1 || hops > MAX_HOPS)
    invalid(field, `a hop count must be a whole number from 1 to ${MAX_HOPS}; ${HOW_TO_FIX}`);
  return hops;
}

/**
 * `trustProxy` from options or `TELLTALE_TRUST_PROXY`: unset/`false`/`0` is off, a number is a hop
 * count, anything else a comma list of addresses and CIDRs. `true` and `*` stop start-up.
 */
export function resolveTrustProxy(option: unknown, env: string | undefined): TrustProxy {
  if (option !== undefined) {
    const field = 'trustProxy';
    if (option === false) return false;
    if (option === true) invalid(field, `true would trust any sender's X-Forwarded-For; ${HOW_TO_FIX}`);
    if (typeof option === 'number') return option === 0 ? false : trustHops(fromHops(option, field));
    if (typeof option === 'string') return fromList(option.split(','), field);
    if (Array.isArray(option)) return fromList(option, field);
    return invalid(field, `must be false, a hop count or a list of addresses; ${HOW_TO_FIX}`);
  }
  const field = 'TELLTALE_TRUST_PROXY';
  const value = env?.trim().toLowerCase() ?? '';
  if (value === '' || value === 'false' || value === 'no' || value === '0') return false;
  if (value === 'true' || value === 'yes' || value === '*')
    invalid(field, `"${env}" would trust any sender's X-Forwarded-For; ${HOW_TO_FIX}`);
  if (/^\d+$/.test(value)) return trustHops(fromHops(Number(value), field));
  return fromList(value.split(','), field);
}

/**
 * Whether a socket's peer is one of the listed proxies; undefined for a hop count (any peer may be
 * the proxy then) and when nothing is trusted.
 */
export function trustedPeerMatcher(trust: TrustProxy): ((address: string) => boolean) | undefined {
  if (!Array.isArray(trust)) return undefined;
  const list = new BlockList();
  for (const entry of trust.flatMap((e) => NAMED_RANGES[e] ?? [e])) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (address) => {
    // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  };
}
