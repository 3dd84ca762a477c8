/**
 * CPU time from /proc (Linux only): per thread of this process, and of a whole other process (a
 * store's server). A benchmark run with BENCH_DEBUG=1 prints where a phase's CPU went — on a 2-core
 * machine the threads compete, so a phase is as fast as their sum allows, whichever thread is busiest.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** utime + stime of a /proc stat line, ms (USER_HZ is 100 on Linux). */
function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU ms of each thread of this process so far, by thread id. */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, statCpuMs(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** CPU ms of a whole process so far (its threads together); 0 when it is gone. */
function processCpu(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * Starts counting now; the returned function describes the CPU used since: this process in all,
 * each of its threads that used any (busiest first), and the process `serverPid()` names.
 */
export function watchCpu(serverName: string, serverPid: () => number | undefined): () => string {
  const own0 = process.cpuUsage();
  const threads0 = threadCpu();
  const server0 = processCpu(serverPid());
  return () => {
    const own = process.cpuUsage(own0);
    const threads = [...threadCpu()]
      .map(([tid, ms]) => [tid, ms - (threads0.get(tid) ?? 0)] as const)
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([tid, ms]) => `tid ${tid}: ${ms} ms`)
      .join(', ');
    const server = processCpu(serverPid()) - server0;
    return `this process ${Math.round((own.user + own.system) / 1000)} ms (${threads}), ${serverName} ${server} ms`;
  };
}
