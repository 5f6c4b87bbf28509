/** Reading other processes from /proc (Linux): CPU time, memory high-water marks, lookup by command line. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64 and arm64

/**
 * User + system CPU milliseconds a process has used so far (0 if it is gone); with
 * `reapedChildren`, plus what its children that exited and were waited for used (cutime, cstime).
 */
export function cpuMs(pid: number, reapedChildren = false): number {
  return statCpuMs(`/proc/${pid}/stat`, reapedChildren);
}

function statCpuMs(file: string, reapedChildren: boolean): number {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces: proc(5)
    // numbers them from 1 = pid, so utime (14) is index 11 here.
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const own = (fields[11] ?? 0) + (fields[12] ?? 0);
    const children = reapedChildren ? (fields[13] ?? 0) + (fields[14] ?? 0) : 0;
    return ((own + children) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * User + system CPU milliseconds a process's main thread has used so far (0 if it is gone); the
 * rest of cpuMs(pid) is its other threads: a worker (the sqlite engine's writer), libuv's pool
 * (crypto jobs, file system), V8's garbage collector helpers. proc(5): /proc/PID/task/TID/stat,
 * where the main thread's TID is the PID.
 */
export function mainThreadCpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`, false);
}

/**
 * CPU milliseconds of a process tree so far: every live process in it, plus the children that
 * have exited (Dovecot starts an imap process per session; its time lands in the parent's
 * cutime when it is reaped).
 */
export function treeCpuMs(pid: number): number {
  return [pid, ...childPids(pid)].reduce((sum, p) => sum + cpuMs(p, true), 0);
}

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM, ...); NaN if unavailable. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Pids whose command line contains every one of `parts`. */
export function findPids(...parts: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (parts.every((part) => cmdline.includes(part))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A reading of CPU milliseconds used so far (a process, a thread, a process tree). */
export type CpuClock = () => number;

/**
 * The CPU clocks of a process as the tables show it: `name` for the whole process and, for a
 * Node.js process, `name + OFF_MAIN` for its threads other than the main one.
 */
export function nodeProcessClocks(name: string, pid: number): [string, CpuClock][] {
  return [
    [name, () => cpuMs(pid)],
    [`${name}${OFF_MAIN}`, () => cpuMs(pid) - mainThreadCpuMs(pid)],
  ];
}

export const OFF_MAIN = ' (off main thread)';

/** CPU milliseconds used on each named clock between `start()` and `stop()`. */
export class CpuMeter {
  private readonly before = new Map<string, number>();

  constructor(private readonly clocks: ReadonlyMap<string, CpuClock>) {}

  start(): void {
    for (const [name, clock] of this.clocks) this.before.set(name, clock());
  }

  stop(): Map<string, number> {
    const used = new Map<string, number>();
    for (const [name, clock] of this.clocks) {
      used.set(name, clock() - (this.before.get(name) ?? 0));
    }
    return used;
  }
}

/** Every descendant of `pid` (children, grandchildren, ...), now. */
export function childPids(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const wanted = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, parent] of parentOf) {
      if (wanted.has(parent) && !wanted.has(child)) {
        wanted.add(child);
        out.push(child);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * Resets a process's VmHWM to its current RSS (proc(5), /proc/PID/clear_refs, value 5), so a
 * later VmHWM is the peak of what came after. Needs to own the process or be root; returns false
 * when not possible.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples the summed VmRSS of some processes every `intervalMs`, keeping the maximum. */
export class RssSampler {
  private max = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: () => number[],
    intervalMs = 5,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Stops sampling; the largest sum seen, in KiB. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.max;
  }

  private sample(): void {
    let sum = 0;
    for (const pid of this.pids()) {
      const kib = statusKiB(pid, 'VmRSS');
      if (Number.isFinite(kib)) sum += kib;
    }
    if (sum > this.max) this.max = sum;
  }
}

/**
 * Starts the CPU profile of a process preloaded with bench/cpu-profiler-preload.js and
 * KZYMY_BENCH_CPU_PROFILE_ON_SIGNAL=1; resolves once it has had time to handle the signal.
 */
export async function startCpuProfile(pid: number): Promise<void> {
  process.kill(pid, 'SIGUSR2');
  await new Promise((resolve) => setTimeout(resolve, 200));
}
