/**
 * What /proc says about the host and its processes: a process's liveness,
 * state and start time (for PID reuse, and ages), the host's CPU time and
 * boot time, the mounts. The parsers are pure (fixture-testable); the
 * readers read /proc on the event loop: a procfs read takes microseconds,
 * where the thread pool's open, read and close would each wait a turn of a
 * busy loop.
 */
import { readFileSync } from 'node:fs';
import { isErrnoException } from './errors.js';

/**
 * Linux's USER_HZ: the clock tick /proc and cpuacct.stat count in. The kernel
 * fixes it at 100 for user space on every architecture Node runs on
 * (sysconf(_SC_CLK_TCK), which Node does not expose).
 */
export const USER_HZ = 100;

const NS_PER_SECOND = 1_000_000_000n;

/**
 * The fields of a /proc/PID/stat text after the command name, which may
 * itself hold spaces and parentheses: [0] is field 3 (state), [19] field 22
 * (starttime).
 */
export function procStatFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ESRCH')) return undefined;
    throw err;
  }
  return procStatFields(text);
}

/** Field 22 of /proc/PID/stat (clock ticks since boot), or undefined if the process is gone. */
export function readStartTime(pid: number): string | undefined {
  return statFields(pid)?.[22 - 3];
}

/** True while the PID exists and is not a zombie. */
export function isProcessLive(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z' && fields[0] !== 'X';
}

/** The process is alive and is the one that was started (same start time). */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  if (!isProcessLive(pid)) return false;
  return startTime === undefined || readStartTime(pid) === startTime;
}

/**
 * The host's CPU time in nanoseconds from /proc/stat's text: the first seven
 * fields of the `cpu` line (user nice system idle iowait irq softirq), in
 * USER_HZ, as containerd v0.2.8 summed them. Undefined if the text has no
 * such line.
 */
export function systemCpuUsageNs(procStat: string): bigint | undefined {
  for (const line of procStat.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] !== 'cpu') continue;
    const ticks = fields.slice(1, 8);
    if (ticks.length < 7 || !ticks.every((t) => /^\d+$/.test(t))) return undefined;
    return (ticks.reduce((sum, t) => sum + BigInt(t), 0n) * NS_PER_SECOND) / BigInt(USER_HZ);
  }
  return undefined;
}

/** The host's CPU time in nanoseconds now (see systemCpuUsageNs); 0n without /proc/stat. */
export function readSystemCpuUsageNs(): bigint {
  try {
    return systemCpuUsageNs(readFileSync('/proc/stat', 'utf8')) ?? 0n;
  } catch {
    return 0n;
  }
}

/** When the host booted (ms since the epoch), from /proc/stat's `btime` line; undefined if none. */
export function bootTimeMs(procStat: string): number | undefined {
  const line = procStat.split('\n').find((l) => l.startsWith('btime '));
  const seconds = Number(line?.split(/\s+/)[1]);
  return line !== undefined && Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
}

let bootTimeCache: number | undefined;

function readBootTimeMs(): number | undefined {
  if (bootTimeCache !== undefined) return bootTimeCache;
  try {
    bootTimeCache = bootTimeMs(readFileSync('/proc/stat', 'utf8'));
  } catch {
    // No /proc: no start times from it.
  }
  return bootTimeCache;
}

/** When a process started, ms since the epoch, from its /proc/PID/stat text and the boot time. */
export function processStartFromStat(stat: string, bootMs: number): number | undefined {
  const ticks = Number(procStatFields(stat)[22 - 3]);
  return Number.isFinite(ticks) ? bootMs + (ticks * 1000) / USER_HZ : undefined;
}

/** When a host process started (ms since the epoch); undefined if unknown or gone. */
export function readProcessStartMs(pid: number): number | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const boot = readBootTimeMs();
  if (boot === undefined) return undefined;
  try {
    return processStartFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), boot);
  } catch {
    return undefined;
  }
}

// Mounts.

/** One line of /proc/PID/mountinfo (proc(5)): what cgroup lookup and the rootfs mounts need. */
export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** The path inside the filesystem that is mounted (a cgroup for bind or namespaced mounts). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 etc.). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    // Optional fields (shared:N, master:N ...) come between field 6 and the "-".
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 4) continue;
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      root: unescapeMountField(f[3] as string),
      mountPoint: unescapeMountField(f[4] as string),
      fsType: f[sep + 1] as string,
      source: unescapeMountField(f[sep + 2] as string),
      superOptions: (f[sep + 3] as string).split(','),
    });
  }
  return out;
}
