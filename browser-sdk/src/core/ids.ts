/** Lowercase hex of `bytes` random bytes. */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (x) =>
    x.toString(16).padStart(2, '0'),
  ).join('');
}

/** 32 hex digits: 12 of milliseconds first (ids sort by time, as UUIDv7 does), then 80 random bits. */
export function newId(now = Date.now()): string {
  return now.toString(16).padStart(12, '0') + randomHex(10);
}
