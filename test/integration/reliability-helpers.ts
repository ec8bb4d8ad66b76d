/**
 * Shared by the reliability-*.test.ts files: what a test may leave behind,
 * seen from the host (state folders, FIFOs, runtime state, cgroups,
 * processes), and small helpers to play faults.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container, ContainerProcess } from '../../src/index.js';
import { processesUnder } from '../helpers/env.js';

/** Every cgroup folder named `id` in any hierarchy, a few levels deep. */
export function cgroupsNamed(id: string): string[] {
  let out: string;
  try {
    out = execFileSync('find', ['/sys/fs/cgroup', '-maxdepth', '5', '-type', 'd', '-name', id], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (err) {
    // Cgroups of others' containers that vanish under find make it fail; what it found stands.
    out = String((err as { stdout?: unknown }).stdout ?? '');
  }
  return out.split('\n').filter(Boolean);
}

/** FIFOs anywhere under `dir`. */
export function fifosUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out = execFileSync('find', [dir, '-type', 'p'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

/** Container ids in the runtime state berth gives `runtime` under the state root `root`. */
export function runtimeIdsIn(root: string, runtime: string): string[] {
  const runtimeRoot = join(root, '.runtime', basename(runtime));
  if (!existsSync(runtimeRoot)) return [];
  return execFileSync('runc', ['--root', runtimeRoot, 'list', '-q'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

/**
 * Live processes that name `id` on their command line (a runtime working on
 * it) or whose cgroup path does (the container's own processes).
 */
export function processesMentioning(id: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/\) [ZX] /.test(stat)) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const cgroup = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
      if (cmdline.includes(id) || cgroup.includes(`/${id}\n`) || cgroup.includes(`/${id}/`))
        found.push(Number(entry));
    } catch {
      // Gone meanwhile, or a kernel thread.
    }
  }
  return found;
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits (bounded) until `pid` is gone or a zombie. */
export async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/** Polls `check` until it returns true, for at most `ms`. */
export async function eventually(check: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
}

/** The shim of a process runs in its process folder; nothing else does. */
export function shimPidOf(proc: ContainerProcess): number {
  const [pid, ...others] = processesUnder(proc.dir);
  assert.ok(pid !== undefined && others.length === 0, `one shim expected in ${proc.dir}`);
  return pid;
}

/** Runs `fn` with extra environment variables (inherited by shims and runtimes), then restores. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/**
 * After a refused start: the container folder holds its record only, and no
 * FIFO, runtime state, cgroup or process of it exists anywhere. Processes
 * and cgroups get `settleMs` to go (a killed process takes a moment).
 */
export async function assertStartLeftNothing(
  container: Container,
  what: string,
  settleMs = 2000,
): Promise<void> {
  assert.deepEqual(readdirSync(container.dir), ['state.json'], `${what}: the record only`);
  assert.deepEqual(fifosUnder(container.dir), [], `${what}: FIFOs left`);
  assert.ok(
    !runtimeIdsIn(container.root, container.runtime).includes(container.id),
    `${what}: runtime state left`,
  );
  // Not even a torn one (a folder without a state): the runtime would refuse the id.
  const runtimeFolder = join(container.root, '.runtime', basename(container.runtime), container.id);
  assert.ok(!existsSync(runtimeFolder), `${what}: ${runtimeFolder} left`);
  const gone = await eventually(
    () =>
      processesMentioning(container.id).length === 0 &&
      processesUnder(container.dir).length === 0 &&
      cgroupsNamed(container.id).length === 0,
    settleMs,
  );
  if (!gone) {
    assert.deepEqual(processesMentioning(container.id), [], `${what}: processes of the container`);
    assert.deepEqual(processesUnder(container.dir), [], `${what}: processes in its folder`);
    assert.deepEqual(cgroupsNamed(container.id), [], `${what}: cgroups left`);
  }
}

/**
 * How many times the long loops of the reliability tests go round: 1 in CI,
 * more under `npm run soak` (BERTH_SOAK_ROUNDS).
 */
export const SOAK_ROUNDS = Math.max(1, Number(process.env.BERTH_SOAK_ROUNDS ?? 1));
