/**
 * Error intelligence the dashboards show and change, injected by whoever runs them (the dispatchers'
 * `issues`), so the dashboards never read the dispatchers' files themselves. Shapes are structural:
 * the dispatchers' objects fit them as they are.
 */

/** One frame; `raw` is the frame as the browser reported it (minified file, line, column). */
export interface FrameView {
  function: string | undefined;
  file: string | undefined;
  line: number | undefined;
  column: number | undefined;
  inApp: boolean;
  symbolicated?: boolean;
  context?: string;
  raw?: {
    function: string | undefined;
    file: string | undefined;
    line: number | undefined;
    column: number | undefined;
  };
}

/** Why frames are not in original source: the map is missing, or it does not match the file. */
export interface SourceMapProblemView {
  kind: 'no-maps-for-release' | 'missing-map' | 'no-mapping' | 'unreadable-map' | (string & {});
  release: string;
  file: string;
  lookedFor: string;
  uploaded: string[];
  releasesWithMaps: string[];
  message: string;
}

export interface SymbolicationView {
  frames: FrameView[];
  problems: SourceMapProblemView[];
}

/** What people decided about a group; no record means `new` or `ongoing`. */
export interface GroupStateRecord {
  app: string;
  fingerprint: string;
  status: 'open' | 'resolved' | 'regressed' | 'ignored' | (string & {});
  resolution: number;
  resolvedAt?: number;
  resolvedInRelease?: string;
  regressedAt?: number;
  regressedInRelease?: string;
  ignoredAt?: number;
  updatedAt: number;
}

export interface MuteRuleRecord {
  id: string;
  createdAt: string;
  app?: string;
  message?: string;
  type?: string;
  browser?: string;
  url?: string;
  release?: string;
  environment?: string;
  note?: string;
}

export type MuteRuleResult =
  { ok: true; rule: MuteRuleRecord } | { ok: false; field: string; message: string };

export interface IssueServices {
  symbolicate(input: { app: string; release: string; stack: string }): Promise<SymbolicationView>;
  groupStates(): Promise<GroupStateRecord[]>;
  groupState(app: string, fingerprint: string): Promise<GroupStateRecord | undefined>;
  resolve(
    app: string,
    fingerprint: string,
    options?: { release?: string | undefined; knownReleases?: readonly string[] | undefined },
  ): Promise<GroupStateRecord>;
  ignore(app: string, fingerprint: string): Promise<GroupStateRecord>;
  reopen(app: string, fingerprint: string): Promise<GroupStateRecord>;
  muteRules(): Promise<MuteRuleRecord[]>;
  addMuteRule(input: unknown): Promise<MuteRuleResult>;
  removeMuteRule(id: string): Promise<boolean>;
}

/** The lifecycle as a person reads it. */
export type IssueStatus = 'new' | 'ongoing' | 'resolved' | 'regression' | 'ignored';
export const ISSUE_STATUSES: readonly IssueStatus[] = ['new', 'ongoing', 'regression', 'resolved', 'ignored'];

/** A group stays `new` for a week after it was first seen (Sentry's "new" lasts as long), then is `ongoing`. */
export const NEW_FOR_MS = 7 * 86_400_000;

export function issueStatus(
  state: GroupStateRecord | undefined,
  firstSeen: number,
  now: number,
): IssueStatus {
  switch (state?.status) {
    case 'resolved':
      return 'resolved';
    case 'regressed':
      return 'regression';
    case 'ignored':
      return 'ignored';
    default:
      return now - firstSeen < NEW_FOR_MS ? 'new' : 'ongoing';
  }
}

export const stateKey = (app: string, fingerprint: string): string => `${app}\u0000${fingerprint}`;
