import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc CPU times (USER_HZ; 100 on Linux builds in practice). */
const USER_HZ = 100;

/**
 * CPU time (user + system, ms) a process has used: its threads' schedstat where the kernel has
 * it, else `/proc/<pid>/stat`; undefined where there is no /proc (not Linux) or the process is gone.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const precise = threadsCpuMs(pid);
  if (precise !== undefined) return precise;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of every thread of a process in ms, from `/proc/<pid>/task/<tid>/schedstat` (its
 * first field is nanoseconds on a CPU): exact where `/proc/<pid>/stat` counts 10 ms ticks, which
 * a phase of a few hundred short requests cannot resolve. Undefined where schedstat is missing.
 */
function threadsCpuMs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // A thread that ended meanwhile.
      }
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

/** CPU ms used by each named process between `start()` and `stop()`. */
export function cpuMeter(processes: Record<string, number | undefined>) {
  let before: Record<string, number | undefined> = {};
  return {
    start() {
      before = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, processCpuMs(pid)]));
    },
    stop(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const [name, pid] of Object.entries(processes)) {
        const b = before[name];
        const a = processCpuMs(pid);
        if (a !== undefined && b !== undefined) out[name] = a - b;
      }
      return out;
    },
  };
}
