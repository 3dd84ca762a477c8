import { isIPv6 } from 'node:net';

/**
 * The client address a per-address limit counts for (the collector's public-key budgets, the
 * dashboards' sign-in limiter): IPv6 by its /64, which one host or home router usually holds whole,
 * so a sender cannot take a fresh address per request; an IPv4-mapped address as its IPv4.
 */
export function addressKey(ip: string): string {
  const plain = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  if (!isIPv6(plain)) return plain;
  const [head = '', tail = ''] = plain.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = plain.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => (group.replace(/^0+/, '') || '0').toLowerCase())
    .join(':')}::/64`;
}
