import { LIST_LIMITS, SORT_KEY_TYPES, type ListName, type PageQuery, type SortKey } from '../store.js';

/**
 * Opaque page cursors: base64url of `[list, ...sortKey]`, the key of the last item shown (`before`:
 * the next, older page) or of the first (`after`: the previous, newer page). Keyset, not OFFSET, so
 * a page is as cheap deep in a list as at its top and new rows never shift what the next page shows.
 */
export type CursorList = ListName | 'alerts';
export type CursorField = 'before' | 'after';

/** Querystring schema of a cursor: URL-safe characters only, short enough for any log line. */
export const cursorSchema = { type: 'string', maxLength: 1024, pattern: '^[A-Za-z0-9_-]*$' } as const;

export interface PageParams {
  limit?: number | undefined;
  before?: string | undefined;
  after?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Cursor of the next (older) page; null on the last page. */
  next: string | null;
  /** Cursor of the previous (newer) page; null on the first page. */
  prev: string | null;
}

/** A cursor that did not come from us (or from another list): answered 400 naming the parameter. */
export class InvalidCursorError extends Error {
  constructor(
    readonly field: CursorField,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

const KEY_TYPES: Record<CursorList, ReadonlyArray<'number' | 'string' | 'boolean'>> = {
  ...SORT_KEY_TYPES,
  alerts: ['number', 'string'],
};

export function encodeCursor(list: CursorList, key: SortKey): string {
  return Buffer.from(JSON.stringify([list, ...key]), 'utf8').toString('base64url');
}

export function decodeCursor(
  list: CursorList,
  field: CursorField,
  text: string | undefined,
): SortKey | undefined {
  if (text === undefined || text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(field, 'is not a cursor from this list (use the `next` value of a page)');
  }
  const types = KEY_TYPES[list];
  if (
    !Array.isArray(value) ||
    value[0] !== list ||
    value.length !== types.length + 1 ||
    !types.every((type, i) => typeof value[i + 1] === type) ||
    value.some((part) => typeof part === 'string' && part.length > 512)
  )
    throw new InvalidCursorError(
      field,
      `is not a cursor of the ${list} list (use the \`next\` value of a page)`,
    );
  return value.slice(1) as SortKey;
}

/** The store query of a page: one row more than asked, to know whether another page follows. */
export function pageQuery(list: CursorList, params: PageParams): PageQuery & { limit: number } {
  const before = decodeCursor(list, 'before', params.before);
  const after = decodeCursor(list, 'after', params.after);
  if (before !== undefined && after !== undefined)
    throw new InvalidCursorError('after', 'cannot be combined with before (one direction at a time)');
  return { limit: (params.limit ?? LIST_LIMITS.defaultLimit) + 1, before, after };
}

/** Cuts the extra row and builds both cursors; `rows` are in list order, as the store returns them. */
export function toPage<T>(
  list: CursorList,
  query: PageQuery & { limit: number },
  rows: readonly T[],
  keyOf: (item: T) => SortKey,
): Page<T> {
  const limit = query.limit - 1;
  const backwards = query.before === undefined && query.after !== undefined;
  const more = rows.length > limit;
  // Backwards, the extra row is the newest one: it sits at the front.
  const items = backwards ? rows.slice(Math.max(0, rows.length - limit)) : rows.slice(0, limit);
  const first = items[0];
  const last = items[items.length - 1];
  const olderExist = backwards ? true : more;
  const newerExist = backwards ? more : query.before !== undefined;
  return {
    items,
    next: olderExist && last !== undefined ? encodeCursor(list, keyOf(last)) : null,
    prev: newerExist && first !== undefined ? encodeCursor(list, keyOf(first)) : null,
  };
}

/** One page of a list: decode the cursor, ask the store for limit + 1 rows, cut, encode. */
export async function loadPage<T>(
  list: CursorList,
  params: PageParams,
  fetch: (query: PageQuery & { limit: number }) => Promise<T[]>,
  keyOf: (item: T) => SortKey,
): Promise<Page<T>> {
  const query = pageQuery(list, params);
  return toPage(list, query, await fetch(query), keyOf);
}
