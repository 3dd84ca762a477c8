/**
 * Top self-time functions of `.cpuprofile` files (one per thread with `node --cpu-prof`), e.g.
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof benchmarks/dispatch.ts
 *   npx tsx benchmarks/tools/cpuprofile-top.ts /tmp/prof/*.cpuprofile
 *
 * Per file: the profile's wall time, the busy share (everything but `(idle)`), then the functions
 * with the most self time (samples × their time deltas), summed over every node of the same
 * function (name, file, line). TOP=<n> shows more rows; FROM_S=<s> and TO_S=<s> keep only the samples
 * taken that many seconds after the profile started (one phase of a benchmark).
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

function label(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  // node_modules/<pkg>/… keeps the package; our own files keep their folder.
  const url = frame.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('node_modules/');
  const where = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url.split(path.sep).slice(-2).join('/');
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

function summarise(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const labelOf = new Map<number, string>();
  for (const node of profile.nodes) labelOf.set(node.id, label(node.callFrame));
  const self = new Map<string, number>();
  let total = 0;
  let at = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < FROM_US || at > TO_US) continue;
    // timeDeltas[i] is the time before sample i; the next delta is the time it stood for.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const name = labelOf.get(profile.samples[i]!) ?? '?';
    self.set(name, (self.get(name) ?? 0) + us);
    total += us;
  }
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  const ms = (us: number): string => (us / 1000).toFixed(0).padStart(7);
  process.stdout.write(
    `\n${path.basename(file)}: ${ms(total)} ms sampled, busy ${ms(busy)} ms (${((100 * busy) / Math.max(1, total)).toFixed(0)}%)\n`,
  );
  const rows = [...self].filter(([name]) => name !== '(idle)').sort((a, b) => b[1] - a[1]);
  for (const [name, us] of rows.slice(0, TOP))
    process.stdout.write(
      `${ms(us)} ms ${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)}%  ${name}\n`,
    );
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: tsx benchmarks/tools/cpuprofile-top.ts <file.cpuprofile>…\n');
  process.exit(2);
}
for (const file of files) summarise(file);
