import { LRUCache } from 'lru-cache';

/**
 * Per-thread memos of pure text functions (scrub, fingerprint): the same message, stack, name and
 * URL repeat across thousands of events, and the patterns behind them were most of the decode
 * workers' CPU. A memo maps the raw text to what the function returned for that very text, so it
 * can only ever hand out a value the function produced (never an unscrubbed one). Bounded in
 * entries and in characters held (keys and values), least recently used first; a text longer than
 * MAX_MEMO_CHARS is computed every time, so one huge stack cannot push the rest out.
 */
export const MAX_MEMO_CHARS = 16 * 1024;

export interface MemoLimits {
  /** Most entries (default 4,096). */
  max?: number;
  /** Most characters held, keys and values together (default 4 Mi: ≤ 8 MiB even for two-byte text). */
  maxChars?: number;
}

export interface Memo<V> {
  /** `compute(key)` the first time, the remembered answer after. */
  get(key: string, compute: (key: string) => V): V;
  /** Entries and characters held (tests, stats). */
  size(): { entries: number; chars: number };
}

export function createMemo<V>(charsOf: (value: V) => number, limits: MemoLimits = {}): Memo<V> {
  const cache = new LRUCache<string, { value: V }>({
    max: limits.max ?? 4_096,
    maxSize: limits.maxChars ?? 4 * 1024 * 1024,
    // +16: an entry costs something even for empty text; lru-cache wants a positive size.
    sizeCalculation: (entry, key) => key.length + charsOf(entry.value) + 16,
  });
  return {
    get(key, compute) {
      if (key.length > MAX_MEMO_CHARS) return compute(key);
      const hit = cache.get(key);
      if (hit !== undefined) return hit.value;
      const value = compute(key);
      cache.set(key, { value });
      return value;
    },
    size: () => ({ entries: cache.size, chars: cache.calculatedSize }),
  };
}

/** A memo of a string → string function. */
export function memoText(fn: (text: string) => string, limits?: MemoLimits): (text: string) => string {
  const memo = createMemo<string>((value) => value.length, limits);
  return (text) => memo.get(text, fn);
}

/** One key for several texts, unambiguous whatever they contain (each is length-prefixed). */
export function memoKey(...parts: readonly (string | undefined)[]): string {
  let key = '';
  for (const part of parts) key += part === undefined ? '-|' : `${part.length}|${part}`;
  return key;
}
