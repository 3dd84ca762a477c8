import {
  issueStatus,
  type FrameView,
  type GroupStateRecord,
  type IssueServices,
  type IssueStatus,
  type SourceMapProblemView,
} from './issues.js';
import { isFiltered, type EventFilter } from './filter.js';
import { loadPage, type Page, type PageParams } from './http/pagination.js';
import {
  LIST_LIMITS,
  SORT_KEYS,
  type DashboardStore,
  type ErrorGroup,
  type ErrorGroupsQuery,
  type EventDetail,
} from './store.js';

/** A group as the list shows it: the store's counts plus its lifecycle. */
export interface ErrorGroupView extends ErrorGroup {
  id: string;
  status: IssueStatus;
  state: GroupStateRecord | null;
}

/**
 * Source maps of the newest sample: `ok` every app frame is in original source, `partial` some are,
 * `missing` none could be (see `problems`), `none` there is no stack to resolve, `unavailable` no
 * symbolication service was given to the dashboards.
 */
export type SourceMapStatus = 'ok' | 'partial' | 'missing' | 'none' | 'unavailable';

export interface ErrorDetailView {
  group: ErrorGroupView & {
    /** The newest sample's frames, innermost first, symbolicated where a map allowed. */
    frames: FrameView[];
    sourceMaps: { status: SourceMapStatus; problems: SourceMapProblemView[] };
  };
  samples: Array<EventDetail & { frames: FrameView[] }>;
}

function view(group: ErrorGroup, state: GroupStateRecord | undefined, now: number): ErrorGroupView {
  return {
    id: group.fingerprint,
    ...group,
    status: issueStatus(state, group.firstSeen, now),
    state: state ?? null,
  };
}

/** Rows read per store call while a status filter fills a page, and how many calls at most. */
const FILTER_CHUNK = LIST_LIMITS.maxLimit;
const FILTER_MAX_CHUNKS = 20;

/**
 * One page of error groups with their status; `status` filters (`unresolved` = new, ongoing and
 * regression). The lifecycle lives outside the store, so a filtered page reads the store in chunks
 * along the same keyset order until the page is full (at most FILTER_MAX_CHUNKS chunks per page).
 */
export async function loadErrorGroups(
  store: DashboardStore,
  issues: IssueServices | undefined,
  query: Pick<ErrorGroupsQuery, 'app' | 'filter'> &
    PageParams & { status?: IssueStatus | 'unresolved' | undefined },
  now: number,
): Promise<Page<ErrorGroupView>> {
  const withStates = (groups: ErrorGroup[]): Promise<ErrorGroupView[]> =>
    Promise.all(groups.map(async (g) => view(g, await issues?.groupState(g.app, g.fingerprint), now)));
  const wanted = query.status;
  const matches = (v: ErrorGroupView): boolean =>
    wanted === undefined ||
    (wanted === 'unresolved'
      ? v.status === 'new' || v.status === 'ongoing' || v.status === 'regression'
      : v.status === wanted);
  const keyOf = (v: ErrorGroupView) => SORT_KEYS.groups(v);
  return loadPage(
    'groups',
    query,
    async (page) => {
      if (wanted === undefined)
        return withStates(await store.errorGroups({ ...page, app: query.app, filter: query.filter }));
      const backwards = page.before === undefined && page.after !== undefined;
      let cursor = page.before ?? page.after;
      let found: ErrorGroupView[] = [];
      for (let chunk = 0; chunk < FILTER_MAX_CHUNKS; chunk += 1) {
        const rows = await store.errorGroups({
          app: query.app,
          filter: query.filter,
          limit: FILTER_CHUNK,
          ...(backwards ? { after: cursor } : { before: cursor }),
        });
        const kept = (await withStates(rows)).filter(matches);
        found = backwards ? [...kept, ...found] : [...found, ...kept];
        const edge = backwards ? rows[0] : rows[rows.length - 1];
        if (found.length >= page.limit || rows.length < FILTER_CHUNK || edge === undefined) break;
        cursor = SORT_KEYS.groups(edge);
      }
      return backwards ? found.slice(-page.limit) : found.slice(0, page.limit);
    },
    keyOf,
  );
}

function mapStatus(frames: readonly FrameView[], problems: readonly SourceMapProblemView[]): SourceMapStatus {
  const resolvable = frames.filter((f) => f.inApp || f.symbolicated === true);
  if (resolvable.length === 0) return 'none';
  const resolved = resolvable.filter((f) => f.symbolicated === true).length;
  if (resolved === 0) return problems.length > 0 ? 'missing' : 'none';
  return resolved === resolvable.length && problems.length === 0 ? 'ok' : 'partial';
}

/**
 * The group, its newest samples, and their stacks in original source, or why they are not. With a
 * filter (the list's, filter.ts) only the group's events in it count; undefined when none match.
 */
export async function loadErrorDetail(
  store: DashboardStore,
  issues: IssueServices | undefined,
  id: string,
  app: string | undefined,
  now: number,
  filter?: EventFilter,
): Promise<ErrorDetailView | undefined> {
  const detail = await store.errorGroup(id, app, filter);
  if (detail === undefined) return undefined;
  const { group } = detail;
  const state = await issues?.groupState(group.app, group.fingerprint);
  // Samples share stacks more often than not: resolve each distinct stack once.
  const resolved = new Map<string, Promise<{ frames: FrameView[]; problems: SourceMapProblemView[] }>>();
  const resolve = (sample: EventDetail) => {
    if (sample.stack === null) return Promise.resolve({ frames: [], problems: [] });
    // Without the dispatchers' symbolicator the raw stack is all there is (the page shows it as text).
    if (issues === undefined) return Promise.resolve({ frames: [], problems: [] });
    const key = `${sample.release}\u0000${sample.stack}`;
    let hit = resolved.get(key);
    if (hit === undefined) {
      hit = issues.symbolicate({ app: sample.app, release: sample.release, stack: sample.stack });
      resolved.set(key, hit);
    }
    return hit;
  };
  const samples = await Promise.all(
    detail.samples.map(async (sample) => ({ ...sample, frames: (await resolve(sample)).frames })),
  );
  const newest = detail.samples[0];
  const top = newest === undefined ? { frames: [], problems: [] } : await resolve(newest);
  const status: SourceMapStatus = issues === undefined ? 'unavailable' : mapStatus(top.frames, top.problems);
  return {
    group: { ...view(group, state, now), frames: top.frames, sourceMaps: { status, problems: top.problems } },
    samples,
  };
}

/**
 * One group under the list's filter (its `app` picking the group's app), for the page and the API
 * alike; when there is none, whether the group is unknown or has no event in the filter.
 */
export async function loadFilteredErrorDetail(
  store: DashboardStore,
  issues: IssueServices | undefined,
  id: string,
  filter: EventFilter,
  now: number,
): Promise<{ detail: ErrorDetailView } | { missing: 'unknown' | 'filtered-out' }> {
  const detail = await loadErrorDetail(store, issues, id, filter.app, now, filter);
  if (detail !== undefined) return { detail };
  const exists = isFiltered(filter) && (await store.errorGroup(id, filter.app)) !== undefined;
  return { missing: exists ? 'filtered-out' : 'unknown' };
}
