/** The cgroup facts a container reads directly, without a runtime process: frozen or not, and its PIDs. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupPaths } from './cgroups/paths.js';
import { ContainerExitedError, isErrnoException } from './errors.js';

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ENODEV')) return undefined;
    throw err;
  }
}

/** True when the freezer cgroup (v1) or cgroup.freeze (v2) says frozen. */
export function readFrozen(paths: CgroupPaths): boolean {
  if (paths.version === 2) {
    return (
      paths.unified !== undefined &&
      readIfExists(join(paths.unified, 'cgroup.freeze'))?.trim() === '1'
    );
  }
  const freezer = paths.v1.get('freezer');
  if (freezer === undefined) return false;
  const state = readIfExists(join(freezer, 'freezer.state'))?.trim();
  return state === 'FROZEN' || state === 'FREEZING';
}

/** Host PIDs in the cgroup, read from cgroup.procs. */
export function readPids(paths: CgroupPaths): number[] {
  const dir =
    paths.version === 2
      ? paths.unified
      : (paths.v1.get('pids') ?? paths.v1.get('memory') ?? paths.v1.get('freezer'));
  const text = dir === undefined ? undefined : readIfExists(join(dir, 'cgroup.procs'));
  if (text === undefined) throw new ContainerExitedError();
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}
