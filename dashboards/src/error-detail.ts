import {
  issueStatus,
  stateKey,
  type FrameView,
  type GroupStateRecord,
  type IssueServices,
  type IssueStatus,
  type SourceMapProblemView,
} from './issues.js';
import type { DashboardStore, ErrorGroup, ErrorGroupsQuery, EventDetail } from './store.js';

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

/** Error groups with their status; `status` filters (`unresolved` = new, ongoing and regression). */
export async function loadErrorGroups(
  store: DashboardStore,
  issues: IssueServices | undefined,
  query: ErrorGroupsQuery & { status?: IssueStatus | 'unresolved' | undefined },
  now: number,
): Promise<ErrorGroupView[]> {
  const [groups, states] = await Promise.all([
    // A status filter drops rows after the query: ask for the ceiling so the page still fills up.
    store.errorGroups(query.status === undefined ? query : { ...query, limit: 1000 }),
    issues?.groupStates() ?? Promise.resolve([]),
  ]);
  const byKey = new Map(states.map((s) => [stateKey(s.app, s.fingerprint), s]));
  const views = groups.map((g) => view(g, byKey.get(stateKey(g.app, g.fingerprint)), now));
  if (query.status === undefined) return views;
  const wanted = query.status;
  return views
    .filter((v) =>
      wanted === 'unresolved'
        ? v.status === 'new' || v.status === 'ongoing' || v.status === 'regression'
        : v.status === wanted,
    )
    .slice(0, query.limit ?? 100);
}

function mapStatus(frames: readonly FrameView[], problems: readonly SourceMapProblemView[]): SourceMapStatus {
  const resolvable = frames.filter((f) => f.inApp || f.symbolicated === true);
  if (resolvable.length === 0) return 'none';
  const resolved = resolvable.filter((f) => f.symbolicated === true).length;
  if (resolved === 0) return problems.length > 0 ? 'missing' : 'none';
  return resolved === resolvable.length && problems.length === 0 ? 'ok' : 'partial';
}

/** The group, its newest samples, and their stacks in original source, or why they are not. */
export async function loadErrorDetail(
  store: DashboardStore,
  issues: IssueServices | undefined,
  id: string,
  app: string | undefined,
  now: number,
): Promise<ErrorDetailView | undefined> {
  const detail = await store.errorGroup(id, app);
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
