import type { DispatcherConfig } from '../config.js';
import { parseStack } from './stack.js';
import type { Sink } from '../pipeline/index.js';
import { artifactsRoot } from './symbolicate/artifact-store.js';
import { createRegroup, regroupingSink, type Regroup } from './symbolicate/regroup.js';
import {
  createSymbolicator,
  type SymbolicationResult,
  type Symbolicator,
} from './symbolicate/symbolicator.js';
import type { AlerterOptions } from '../alerts/index.js';
import { openGroupStates, type GroupState, type GroupStates, type ResolveOptions } from './group-state.js';
import { openMuteRules, type MuteRule, type MuteRuleAdded, type MuteRules } from './mute-rules.js';

/**
 * What the dashboards (and through them the CLI) may read and change about error groups and alert
 * rules. Injected into the dashboards plugin, so the dashboards never touch the dispatchers' files.
 */
export interface IssueServices {
  /** Frames of a stored stack in original source, with what went wrong when a map is missing or does not match. */
  symbolicate(input: { app: string; release: string; stack: string }): Promise<SymbolicationResult>;
  groupStates(): Promise<GroupState[]>;
  groupState(app: string, fingerprint: string): Promise<GroupState | undefined>;
  resolve(app: string, fingerprint: string, options?: ResolveOptions): Promise<GroupState>;
  ignore(app: string, fingerprint: string): Promise<GroupState>;
  reopen(app: string, fingerprint: string): Promise<GroupState>;
  muteRules(): Promise<MuteRule[]>;
  addMuteRule(input: unknown): Promise<MuteRuleAdded>;
  removeMuteRule(id: string): Promise<boolean>;
}

/** Source maps, group lifecycle and mute rules of one data dir, opened together by startDispatchers. */
export interface ErrorIntelligence {
  symbolicator: Symbolicator;
  regroup: Regroup;
  groups: GroupStates;
  rules: MuteRules;
  issues: IssueServices;
  /** A sink that stores rows grouped on symbolicated frames. */
  wrapSink(sink: Sink): Sink;
  /** The alerter's share of the config and of the state above. */
  alerterOptions: Pick<
    AlerterOptions,
    | 'symbolicator'
    | 'regroup'
    | 'groups'
    | 'rules'
    | 'maxPerWindow'
    | 'windowMs'
    | 'firstUsePerAccount'
    | 'maxNewKeysPerApp'
    | 'retentionDays'
    | 'webhooks'
  >;
  close(): Promise<void>;
}

export async function openErrorIntelligence(config: DispatcherConfig): Promise<ErrorIntelligence> {
  const symbolicator = createSymbolicator({
    artifactsRoot: artifactsRoot(config.dataDir),
    cacheSize: config.sourceMapCacheSize,
  });
  const regroup = createRegroup(symbolicator);
  const groups = await openGroupStates(config.dataDir);
  const rules = await openMuteRules(config.dataDir);
  const issues: IssueServices = {
    symbolicate: ({ app, release, stack }) =>
      symbolicator.symbolicate({ app, release, frames: parseStack(stack) }),
    groupStates: async () => groups.list(),
    groupState: async (app, fingerprint) => groups.get(app, fingerprint),
    resolve: (app, fingerprint, options) => groups.resolve(app, fingerprint, options),
    ignore: (app, fingerprint) => groups.ignore(app, fingerprint),
    reopen: (app, fingerprint) => groups.reopen(app, fingerprint),
    muteRules: async () => rules.list(),
    addMuteRule: (input) => rules.add(input),
    removeMuteRule: (id) => rules.remove(id),
  };
  return {
    symbolicator,
    regroup,
    groups,
    rules,
    issues,
    wrapSink: (sink) => regroupingSink(sink, regroup),
    alerterOptions: {
      symbolicator,
      regroup,
      groups,
      rules,
      maxPerWindow: config.alertLimit,
      windowMs: config.alertWindowMs,
      firstUsePerAccount: config.alertFirstUsePerAccount,
      maxNewKeysPerApp: config.alertMaxNewKeysPerApp,
      retentionDays: config.alertRetentionDays,
      webhooks: config.alertWebhooks,
    },
    async close() {
      await groups.close();
      symbolicator.close();
    },
  };
}
