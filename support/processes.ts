/** Host processes, seen through /proc: for tests and benchmarks that must find the ones they started. */
import { readdirSync, readlinkSync } from 'node:fs';

/** Processes whose working directory is under `dir` (shims run in their process folders). */
export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) pids.push(Number(entry));
    } catch {
      // Gone, or a kernel thread.
    }
  }
  return pids;
}
