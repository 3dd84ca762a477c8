/**
 * Top self-time functions of `.cpuprofile` files (one per thread with `node --cpu-prof`), e.g.
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof benchmarks/dispatch.ts
 *   npx tsx benchmarks/tools/cpuprofile-top.ts /tmp/prof/*.cpuprofile
 *
 * Per file: the profile's wall time, the busy share (everything but `(idle)`), then the functions
 * with the most self time (samples × their time deltas), summed over every node of the same
 * function (name, file, line). TOP=<n> shows more rows; FROM_S=<s> and TO_S=<s> keep only the samples
 * taken that many seconds after the first of the given profiles started (the main thread's, when the
 * files are one process's: worker threads start later, and their samples are placed on the same clock),
 * e.g. one phase of a benchmark whose log lines carry the seconds since the process started.
 * INCLUSIVE=1 adds a second table: time with the function anywhere on the stack (its callees included).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const TOP = Number(process.env.TOP ?? 25);
const FROM_US = Number(process.env.FROM_S ?? 0) * 1e6;
const TO_US = Number(process.env.TO_S ?? Number.POSITIVE_INFINITY) * 1e6;
const INCLUSIVE = process.env.INCLUSIVE === '1';

function label(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  // node_modules/<pkg>/… keeps the package; our own files keep their folder.
  const url = frame.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('node_modules/');
  const where = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url.split(path.sep).slice(-2).join('/');
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

/** Adds `us` to each distinct function on the stack of `id` (inclusive time). */
function addInclusive(
  id: number,
  us: number,
  parentOf: Map<number, number>,
  labelOf: Map<number, string>,
  into: Map<string, number>,
): void {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const name = labelOf.get(at) ?? '?';
    if (seen.has(name) || name === '(root)') continue;
    seen.add(name);
    into.set(name, (into.get(name) ?? 0) + us);
  }
}

function summarise(file: string, profile: CpuProfile, origin: number): void {
  const labelOf = new Map<number, string>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    labelOf.set(node.id, label(node.callFrame));
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let at = profile.startTime - origin;
  for (let i = 0; i < profile.samples.length; i += 1) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < FROM_US || at > TO_US) continue;
    // timeDeltas[i] is the time before sample i; the next delta is the time it stood for.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const name = labelOf.get(profile.samples[i]!) ?? '?';
    self.set(name, (self.get(name) ?? 0) + us);
    if (INCLUSIVE && name !== '(idle)') addInclusive(profile.samples[i]!, us, parentOf, labelOf, inclusive);
    total += us;
  }
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  const ms = (us: number): string => (us / 1000).toFixed(0).padStart(7);
  process.stdout.write(
    `\n${path.basename(file)}: ${ms(total)} ms sampled, busy ${ms(busy)} ms (${((100 * busy) / Math.max(1, total)).toFixed(0)}%)\n`,
  );
  const table = (times: Map<string, number>): void => {
    const rows = [...times].filter(([name]) => name !== '(idle)').sort((a, b) => b[1] - a[1]);
    for (const [name, us] of rows.slice(0, TOP))
      process.stdout.write(
        `${ms(us)} ms ${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)}%  ${name}\n`,
      );
  };
  table(self);
  if (INCLUSIVE) {
    process.stdout.write('inclusive (callees included):\n');
    table(inclusive);
  }
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: tsx benchmarks/tools/cpuprofile-top.ts <file.cpuprofile>…\n');
  process.exit(2);
}
const profiles = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
const origin = Math.min(...profiles.map((p) => p.startTime));
for (const [index, file] of files.entries()) summarise(file, profiles[index]!, origin);
