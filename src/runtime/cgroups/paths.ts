/**
 * Where a process's cgroups live: /proc/PID/cgroup names the cgroup in each
 * hierarchy, /proc/self/mountinfo says where each hierarchy is mounted.
 * The parsers are pure (fixture-testable); the wrappers at the end read /proc.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { parseMountInfo } from '../procfs.js';
import { CgroupNotFoundError } from './errors.js';

export interface CgroupPaths {
  /**
   * 1 when any v1 controller hierarchy is in use (including "hybrid" hosts
   * that also mount cgroup2, e.g. at /sys/fs/cgroup/unified); 2 on a pure
   * unified host.
   */
  version: 1 | 2;
  /**
   * v1 controller name to its cgroup directory. Controllers co-mounted
   * ("cpu,cpuacct") each get an entry for the same directory. Named
   * hierarchies (name=systemd) are left out: they carry no statistics.
   */
  v1: Map<string, string>;
  /** The cgroup2 directory: the whole cgroup on v2, the unified side on hybrid. */
  unified?: string;
}

export interface CgroupMount {
  fsType: 'cgroup' | 'cgroup2';
  root: string;
  mountPoint: string;
  /** Super options: the controllers (and name=) of a v1 hierarchy, flags of a v2 one. */
  options: string[];
}

/** One line of /proc/PID/cgroup: "hierarchy-ID:controller-list:cgroup-path". */
export interface ProcCgroupEntry {
  hierarchyId: number;
  /** Empty for the unified hierarchy ("0::/path"). */
  controllers: string[];
  path: string;
}

/**
 * The visible cgroup mounts. When something is mounted over a mount point the
 * earlier mount is hidden, so the last entry for a mount point wins.
 */
export function cgroupMountsFromMountInfo(text: string): CgroupMount[] {
  const byPoint = new Map<string, CgroupMount>();
  for (const e of parseMountInfo(text)) {
    if (byPoint.has(e.mountPoint)) byPoint.delete(e.mountPoint);
    if (e.fsType !== 'cgroup' && e.fsType !== 'cgroup2') continue;
    byPoint.set(e.mountPoint, {
      fsType: e.fsType,
      root: e.root,
      mountPoint: e.mountPoint,
      options: e.superOptions,
    });
  }
  return [...byPoint.values()];
}

export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    // The path may itself hold ':', so split at the first two only.
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    let path = line.slice(b + 1);
    // cgroup2 marks a removed cgroup that a zombie still points at.
    if (path.endsWith(' (deleted)')) path = path.slice(0, -' (deleted)'.length);
    const list = line.slice(a + 1, b);
    out.push({
      hierarchyId: Number(line.slice(0, a)),
      controllers: list === '' ? [] : list.split(','),
      path,
    });
  }
  return out;
}

/**
 * The directory of `cgroupPath` under a mount of its hierarchy, or undefined
 * when the mount does not reach it (the mount's root is some other subtree,
 * or the path climbs out of our cgroup namespace with "..").
 */
function dirUnder(mount: CgroupMount, cgroupPath: string): string | undefined {
  if (!cgroupPath.startsWith('/') || cgroupPath.split('/').includes('..')) return undefined;
  const root = mount.root === '/' ? '' : mount.root.replace(/\/+$/, '');
  if (cgroupPath !== root && !cgroupPath.startsWith(root + '/')) return undefined;
  const dir = posix.join(mount.mountPoint, cgroupPath.slice(root.length));
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/**
 * The directory under the last mount (in mountinfo order) that shows the
 * cgroup: a later mount hides or supersedes an earlier one, and the shim's
 * OOM watch (shim/src/oom.c) picks the same one.
 */
function lastReachable(
  mounts: readonly CgroupMount[],
  match: (m: CgroupMount) => boolean,
  cgroupPath: string,
): string | undefined {
  for (let i = mounts.length - 1; i >= 0; i--) {
    const m = mounts[i]!;
    if (!match(m)) continue;
    const dir = dirUnder(m, cgroupPath);
    if (dir !== undefined) return dir;
  }
  return undefined;
}

/**
 * Combines a process's /proc/PID/cgroup text with the cgroup mounts into
 * per-controller directories. Throws if the process is in no mounted hierarchy.
 */
export function resolveCgroupPaths(
  procCgroupText: string,
  mounts: readonly CgroupMount[],
): CgroupPaths {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const entry of parseProcCgroup(procCgroupText)) {
    if (entry.hierarchyId === 0 && entry.controllers.length === 0) {
      unified = lastReachable(mounts, (m) => m.fsType === 'cgroup2', entry.path);
      continue;
    }
    const controllers = entry.controllers.filter((c) => !c.startsWith('name='));
    if (controllers.length === 0) continue;
    const dir = lastReachable(
      mounts,
      (m) => m.fsType === 'cgroup' && controllers.every((c) => m.options.includes(c)),
      entry.path,
    );
    if (dir === undefined) continue;
    for (const c of controllers) v1.set(c, dir);
  }
  if (v1.size > 0) {
    return unified === undefined ? { version: 1, v1 } : { version: 1, v1, unified };
  }
  if (unified !== undefined) return { version: 2, v1, unified };
  throw new Error('the process is in no mounted cgroup hierarchy');
}

/**
 * The directory of the process's cgroup in every mounted hierarchy, named
 * ones (name=systemd) included: where a runtime makes, and must remove, a
 * container's cgroups.
 */
export function hierarchyDirs(procCgroupText: string, mounts: readonly CgroupMount[]): string[] {
  const dirs = new Set<string>();
  for (const entry of parseProcCgroup(procCgroupText)) {
    const dir =
      entry.controllers.length === 0
        ? lastReachable(mounts, (m) => m.fsType === 'cgroup2', entry.path)
        : lastReachable(
            mounts,
            (m) => m.fsType === 'cgroup' && entry.controllers.every((c) => m.options.includes(c)),
            entry.path,
          );
    if (dir !== undefined) dirs.add(dir);
  }
  return [...dirs];
}

// Mounts do not change under a running supervisor, and re-reading mountinfo
// (hundreds of lines on a busy host) for every stats call would dominate it.
let mountCache: CgroupMount[] | undefined;

/** This process's cgroup mounts, read once and cached. */
export function hostCgroupMounts(): CgroupMount[] {
  mountCache ??= cgroupMountsFromMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  return mountCache;
}

/** Forgets the cached mount table (tests, or after deliberately remounting). */
export function resetCgroupMountCache(): void {
  mountCache = undefined;
}

/**
 * The cgroup directories of a live process, as seen from this process's mount
 * and cgroup namespaces. Throws CgroupNotFoundError if the process is gone.
 */
export function cgroupPathsForPid(pid: number): CgroupPaths {
  const file = `/proc/${pid}/cgroup`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') {
      throw new CgroupNotFoundError(file, `process ${pid} not found`, { cause: err });
    }
    throw err;
  }
  // A zombie keeps its /proc entry but has no cgroup lines left to report.
  if (text.trim() === '') throw new CgroupNotFoundError(file, `process ${pid} has exited`);
  return resolveCgroupPaths(text, hostCgroupMounts());
}
