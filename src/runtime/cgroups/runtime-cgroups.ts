/**
 * The cgroup folders an OCI runtime with the cgroupfs driver makes for a
 * container, derived from its config the way runc does: `linux.cgroupsPath`
 * when absolute; relative to the runtime's own cgroup (which is the caller's:
 * the shim inherits it) when relative; `<own cgroup>/<id>` when unset.
 *
 * berth removes these itself only when the runtime cannot (a start killed
 * before the runtime recorded its state), and only while they are empty.
 */
import { readFileSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrnoException } from '../errors.js';
import { hostCgroupMounts, hierarchyDirs, parseProcCgroup, type CgroupMount } from './paths.js';

/**
 * The folders, leaf only (parents of an absolute path may be shared), or []
 * for the systemd driver, whose transient units systemd removes itself.
 */
export function runtimeCgroupDirs(
  cgroupsPath: string | undefined,
  containerId: string,
  options: { systemd?: boolean; ownCgroupText?: string; mounts?: readonly CgroupMount[] } = {},
): string[] {
  if (options.systemd) return [];
  const own = options.ownCgroupText ?? readFileSync('/proc/self/cgroup', 'utf8');
  const wanted = cgroupsPath || containerId;
  const lines = parseProcCgroup(own).map((entry) => {
    // As runc's CleanPath: a relative path is cleaned as if rooted, so ".." cannot climb out.
    const path = posix.isAbsolute(wanted)
      ? posix.normalize(wanted)
      : posix.join(entry.path, posix.relative('/', posix.join('/', wanted)));
    return `${entry.hierarchyId}:${entry.controllers.join(',')}:${path}`;
  });
  return hierarchyDirs(lines.join('\n'), options.mounts ?? hostCgroupMounts());
}

/**
 * Removes each folder that exists and is empty. A cgroup whose last process
 * was just killed may stay busy for a moment: retried within `settleMs`.
 * Returns the folders left (busy: some process still lives in them).
 */
export async function removeEmptyCgroups(
  dirs: readonly string[],
  settleMs = 500,
): Promise<string[]> {
  const deadline = Date.now() + settleMs;
  let left = [...dirs];
  for (;;) {
    const busy: string[] = [];
    for (const dir of left) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if (isErrnoException(err, 'ENOENT')) continue;
        if (isErrnoException(err, 'EBUSY')) busy.push(dir);
        // Anything else (ENOTEMPTY: a child cgroup someone made) is not ours to force.
      }
    }
    left = busy;
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(20);
  }
}
