/**
 * A container's cgroups as berth reads them without a runtime process:
 * found once per init process (a container's cgroup does not move), with the
 * files kept open between stats calls.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupNotFoundError } from './errors.js';
import { OpenCgroupFiles } from './open-files.js';
import { cgroupPathsForPid, type CgroupPaths } from './paths.js';
import { readStats } from './stats.js';
import type { Stat } from './types.js';
import type { CgroupFileReader } from './parse.js';
import { isErrnoException } from '../errors.js';

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ENODEV')) return undefined;
    throw err;
  }
}

/** True when the freezer cgroup (v1) or cgroup.freeze (v2) says frozen. */
export function readFrozen(
  paths: CgroupPaths,
  read: CgroupFileReader = (dir, file) => readIfExists(join(dir, file)),
): boolean {
  if (paths.version === 2) {
    return paths.unified !== undefined && read(paths.unified, 'cgroup.freeze')?.trim() === '1';
  }
  const freezer = paths.v1.get('freezer');
  if (freezer === undefined) return false;
  const state = read(freezer, 'freezer.state')?.trim();
  return state === 'FROZEN' || state === 'FREEZING';
}

/**
 * Host PIDs in the cgroup, read from cgroup.procs; CgroupNotFoundError once it
 * is gone. Opened afresh each time: on cgroup v1 an open cgroup.procs read
 * again from 0 may serve the PID list the kernel cached for up to a second.
 */
export function readPids(paths: CgroupPaths): number[] {
  const dir =
    paths.version === 2
      ? paths.unified
      : (paths.v1.get('pids') ?? paths.v1.get('memory') ?? paths.v1.get('freezer'));
  const file = dir === undefined ? undefined : join(dir, 'cgroup.procs');
  const text = file === undefined ? undefined : readIfExists(file);
  if (text === undefined) throw new CgroupNotFoundError(dir ?? 'cgroup.procs');
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The memory cgroup folder (v1 `memory`, or the unified one on v2). */
export function memoryCgroup(paths: CgroupPaths): string | undefined {
  return paths.version === 2 ? paths.unified : paths.v1.get('memory');
}

export class ContainerCgroup implements Disposable {
  #found: { pid: number; paths: CgroupPaths; files: OpenCgroupFiles } | undefined;

  /** The cgroups of the container whose init is `pid`; CgroupNotFoundError once it is gone. */
  paths(pid: number): CgroupPaths {
    return this.#for(pid).paths;
  }

  /** Through the kept-open files: a state query asks it of every container. */
  frozen(pid: number): boolean {
    const { paths, files } = this.#for(pid);
    return readFrozen(paths, files.read);
  }

  pids(pid: number): number[] {
    return readPids(this.paths(pid));
  }

  stats(pid: number): Stat {
    const { paths, files } = this.#for(pid);
    return readStats(paths, { reader: files.read });
  }

  #for(pid: number): { paths: CgroupPaths; files: OpenCgroupFiles } {
    if (this.#found?.pid !== pid) {
      this.release();
      this.#found = { pid, paths: cgroupPathsForPid(pid), files: new OpenCgroupFiles() };
    }
    return this.#found;
  }

  /** Closes the files kept open. */
  release(): void {
    this.#found?.files.close();
    this.#found = undefined;
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
