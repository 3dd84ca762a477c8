import { LIST_LIMITS, type PageQuery, type SortKey } from '../store.js';

/**
 * Keyset pagination (store.ts SortKey), once for both stores: the WHERE and ORDER BY of one page
 * over an inner SELECT, in the order of the list's sort columns. Each store binds the cursor's
 * values its own way (`bind`) and runs `SELECT * FROM (inner) <where> ORDER BY <order> LIMIT n`.
 */

/** A list's sort column as the outer query sees it; `desc` for the newest-first time column. */
export interface KeysetColumn {
  expr: string;
  desc: boolean;
}

export interface KeysetSql {
  /** `WHERE …` of the rows after `before` (or ahead of `after`); empty without a cursor. */
  where: string;
  order: string;
  /** Walking back toward newer rows reads the order backwards: the caller flips the page. */
  backwards: boolean;
}

/** `bind(value, i)` binds a cursor value compared with `columns[i]`. */
export function keysetSql<C extends KeysetColumn>(
  columns: readonly C[],
  query: PageQuery,
  bind: (value: string | number | boolean, column: C) => string,
): KeysetSql {
  const cursor: SortKey | undefined = query.before ?? query.after;
  const backwards = query.before === undefined && query.after !== undefined;
  let where = '';
  if (cursor !== undefined) {
    const alternatives = columns.map((column, i) => {
      const equal = columns.slice(0, i).map((c, j) => `${c.expr} = ${bind(cursor[j] ?? '', c)}`);
      const later = column.desc !== backwards ? '<' : '>';
      return [...equal, `${column.expr} ${later} ${bind(cursor[i] ?? '', column)}`].join(' AND ');
    });
    where = `WHERE ${alternatives.map((a) => `(${a})`).join(' OR ')}`;
  }
  const order = columns.map((c) => `${c.expr} ${c.desc !== backwards ? 'DESC' : 'ASC'}`).join(', ');
  return { where, order, backwards };
}

/** One row beyond the ceiling: the API asks for a page plus one to know whether another follows. */
export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return LIST_LIMITS.defaultLimit;
  return Math.min(LIST_LIMITS.maxLimit + 1, Math.max(1, Math.trunc(limit)));
}
