/**
 * CPU time of a process tree, from a cpuacct cgroup of its own: the bench
 * steps into the cgroup, starts the tree (its children are born inside),
 * and steps back out. Unlike wall time, the figure hardly moves with the
 * other load on a shared machine. A container's own processes are not in it:
 * the runtime moves them into the container's cgroups as it creates them.
 * cgroup v1 (cpuacct) only; elsewhere `undefined` and nothing is made.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupPathsForPid } from '../src/runtime/cgroups/paths.js';

export interface CpuCgroup {
  /** ms of CPU used by every process in it so far. */
  usedMs(): number;
  /** Removes it once its processes are gone (bounded retries). */
  remove(): Promise<void>;
}

export async function withCpuCgroup<T>(
  name: string,
  start: () => Promise<T>,
): Promise<{ started: T; cgroup: CpuCgroup | undefined }> {
  let home: string | undefined;
  try {
    home = cgroupPathsForPid(process.pid).v1.get('cpuacct');
  } catch {
    home = undefined;
  }
  if (!home) return { started: await start(), cgroup: undefined };
  const dir = join(home, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'cgroup.procs'), String(process.pid));
  const cgroup = cgroupAt(dir);
  let started: T;
  try {
    started = await start();
  } catch (err) {
    writeFileSync(join(home, 'cgroup.procs'), String(process.pid));
    await cgroup.remove();
    throw err;
  }
  writeFileSync(join(home, 'cgroup.procs'), String(process.pid));
  return { started, cgroup };
}

function cgroupAt(dir: string): CpuCgroup {
  return {
    usedMs: () => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8').trim()) / 1e6,
    async remove() {
      for (let i = 0; i < 100; i++) {
        try {
          rmdirSync(dir);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          await sleep(50);
        }
      }
      throw new Error(`cannot remove ${dir}: processes are still in it`);
    },
  };
}
