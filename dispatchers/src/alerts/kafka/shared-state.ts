import { stat } from 'node:fs/promises';
import {
  groupStatesFile,
  openGroupStates,
  type GroupStates,
  muteRulesFile,
  openMuteRules,
  type MuteRules,
} from '../../intelligence/index.js';

/**
 * Group lifecycle and mute rules as the deciders see them when the dashboards are another process:
 * the same files (`alerts/groups.jsonl`, `alerts/mute-rules.json`) on a volume every process
 * mounts, re-read whenever they changed (size, mtime or inode) before a decision. A shared volume
 * is the honest answer for now (see docs/alerts.md): one writer at a time is assumed for rewrites.
 */
export interface SharedAlertState {
  groups: GroupStates;
  rules: MuteRules;
  /** Re-reads whichever file changed since it was last read. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

async function version(file: string): Promise<string> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw error;
  }
}

export async function openSharedAlertState(dataDir: string): Promise<SharedAlertState> {
  const groupsFile = groupStatesFile(dataDir);
  const rulesFile = muteRulesFile(dataDir);
  let groupsVersion = await version(groupsFile);
  let rulesVersion = await version(rulesFile);
  let groups = await openGroupStates(dataDir);
  let rules = await openMuteRules(dataDir);
  let running: Promise<void> | undefined;

  async function reload(): Promise<void> {
    const [g, r] = await Promise.all([version(groupsFile), version(rulesFile)]);
    if (g !== groupsVersion) {
      const next = await openGroupStates(dataDir);
      const old = groups;
      groups = next;
      groupsVersion = g;
      await old.close();
    }
    if (r !== rulesVersion) {
      rules = await openMuteRules(dataDir);
      rulesVersion = r;
    }
  }

  const groupsView: GroupStates = {
    file: groupsFile,
    get: (app, fingerprint) => groups.get(app, fingerprint),
    list: () => groups.list(),
    resolve: (app, fingerprint, options) => groups.resolve(app, fingerprint, options),
    ignore: (app, fingerprint) => groups.ignore(app, fingerprint),
    reopen: (app, fingerprint) => groups.reopen(app, fingerprint),
    markRegressed: (app, fingerprint, at, release) => groups.markRegressed(app, fingerprint, at, release),
    close: () => groups.close(),
  };
  const rulesView: MuteRules = {
    file: rulesFile,
    list: () => rules.list(),
    add: (input) => rules.add(input),
    remove: (id) => rules.remove(id),
    match: (event) => rules.match(event),
  };
  return {
    groups: groupsView,
    rules: rulesView,
    refresh() {
      running ??= reload().finally(() => {
        running = undefined;
      });
      return running;
    },
    close: () => groups.close(),
  };
}
