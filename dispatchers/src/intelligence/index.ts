/**
 * Error intelligence: stack parsing, fingerprints and grouping, symbolication with uploaded source
 * maps and the regrouping it allows, the group lifecycle (resolve, ignore, regressions) and mute
 * rules. What the composition root, the other folders and the tests use; import it from here, never
 * from a file inside. No runtime dependency on the other folders (types only, e.g. EnrichedEvent, Sink).
 */
export { alertKeys, alertSubjectsJson, readAlertSubjects } from './alert-subjects.js';
export { fingerprintError, groupingFrames, normaliseFilePath, normaliseMessage } from './fingerprint.js';
export {
  type GroupState,
  type GroupStates,
  groupStatesFile,
  isRegression,
  openGroupStates,
} from './group-state.js';
export { groupingText } from './grouping-text.js';
export { type ErrorIntelligence, type IssueServices, openErrorIntelligence } from './issues.js';
export { MAX_LINE_BYTES, openJsonLinesLog } from './jsonl-log.js';
export {
  matchGlob,
  MUTE_LIMITS,
  type MuteRules,
  muteRulesFile,
  openMuteRules,
  ruleMatches,
  validateMuteRule,
} from './mute-rules.js';
export { formatFrame, parseStack, type StackFrame } from './stack.js';
export { artifactsRoot } from './symbolicate/artifact-store.js';
export { functionScopes } from './symbolicate/function-names.js';
export { createRegroup, type Regroup, regroupableKeys, regroupingSink } from './symbolicate/regroup.js';
export { createSymbolicator, type Symbolicator } from './symbolicate/symbolicator.js';
