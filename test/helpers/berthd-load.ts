/**
 * For the load tests: a real berthd (dist's executable) on a state dir and a
 * socket of its own, requests, an Events reader, and the daemon's resource
 * figures (descriptors, RSS, processes, state folders, cgroups, runtime state).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Container } from '../../src/index.js';
import type { AddProcessRequest, Event } from '../../src/api/generated/berth.js';
import { tempDir, writeBundle, type BundleOptions } from '../../support/busybox.js';
import { connect } from './api-client.js';
import { spawnBerthd, type BerthdProcess } from './berthd-process.js';
import { processesUnder, runtimeIds } from './env.js';

export interface Daemon extends BerthdProcess {
  stateDir: string;
}

export interface Harness {
  base: string;
  stateDir: string;
  socket: string;
  bundle(opts?: BundleOptions): string;
  start(extra?: string[]): Promise<Daemon>;
  /** Kills what is left (through the API, then the runtime library), stops daemons, removes the base. */
  cleanup(): Promise<void>;
}

export function harness(name: string): Harness {
  const base = tempDir(`berth-${name}-`);
  const stateDir = join(base, 'state');
  const socket = join(base, 'berthd.sock');
  mkdirSync(stateDir, { recursive: true });
  const daemons: Daemon[] = [];
  let bundles = 0;
  return {
    base,
    stateDir,
    socket,
    bundle: (opts = {}) => writeBundle(join(base, `bundle-${++bundles}`), opts),
    async start(extra = []) {
      const daemon = await startBerthd(stateDir, socket, extra);
      daemons.push(daemon);
      return daemon;
    },
    async cleanup() {
      try {
        for (const daemon of daemons) {
          if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) continue;
          await killContainersThrough(daemon.address);
          process.kill(daemon.pid, 'SIGTERM');
          const stopped = await Promise.race([
            daemon.exited,
            sleep(10_000, 'timeout' as const, { ref: false }),
          ]);
          if (stopped === 'timeout') {
            process.kill(daemon.pid, 'SIGKILL');
            await daemon.exited;
          }
        }
        if (existsSync(stateDir)) {
          const { containers } = await Container.loadAll(stateDir);
          for (const c of containers) await c.delete({ force: true }).catch(() => {});
          assert.deepEqual(runtimeIds(stateDir), [], 'runtime state left');
          assert.deepEqual(processesUnder(stateDir), [], 'processes left');
        }
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
}

export async function startBerthd(
  stateDir: string,
  socket: string,
  extra: string[] = [],
): Promise<Daemon> {
  const flags = ['--runtime', 'runc', '--start-timeout', '15s', '--metrics-interval', '0'];
  const started = await spawnBerthd(stateDir, socket, [...flags, ...extra]);
  return { ...started, stateDir };
}

export function createRequest(id: string, bundlePath: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    bundlePath,
    checkpoint: '',
    stdin: '',
    stdout: '',
    stderr: '',
    labels: [],
    noPivotRoot: false,
    runtime: '',
    runtimeArgs: [],
    checkpointDir: '',
    ...extra,
  };
}

export function execRequest(
  id: string,
  pid: string,
  args: string[],
  extra: Partial<AddProcessRequest> = {},
): AddProcessRequest {
  return {
    id,
    pid,
    terminal: false,
    user: { uid: 0, gid: 0, additionalGids: [] },
    args,
    env: ['PATH=/bin'],
    cwd: '/',
    stdin: '',
    stdout: '',
    stderr: '',
    capabilities: [],
    apparmorProfile: '',
    selinuxLabel: '',
    noNewPrivileges: false,
    rlimits: [],
    ...extra,
  };
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await sleep(50);
  }
}

/** An Events stream, recorded. */
export function recordEvents(stream: ClientReadableStream<Event>) {
  const seen: Event[] = [];
  let status: { code: GrpcStatus; details: string; metadata?: unknown } | undefined;
  stream.on('data', (event: Event) => seen.push(event));
  stream.on('status', (s: { code: GrpcStatus; details: string }) => (status = s));
  stream.on('error', () => {});
  return {
    stream,
    seen,
    get status() {
      return status;
    },
    cancel: () => stream.cancel(),
  };
}

export const ns = (e: Event) =>
  e.timestamp ? BigInt(e.timestamp.seconds) * 1_000_000_000n + BigInt(e.timestamp.nanos) : 0n;

// ---- figures ----

export interface Figures {
  fds: number;
  rssKb: number;
  processes: number;
  folders: number;
  cgroups: number;
  runtimeStates: number;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return out;
}

export function figures(daemon: Daemon, idPrefix: string): Figures {
  const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const procs = new Set([...childrenOf(daemon.pid), ...processesUnder(daemon.stateDir)]);
  const cgroups = execFileSync(
    'find',
    ['/sys/fs/cgroup', '-maxdepth', '5', '-name', `${idPrefix}*`],
    { encoding: 'utf8' },
  )
    .split('\n')
    .filter(Boolean).length;
  return {
    fds: readdirSync(`/proc/${daemon.pid}/fd`).length,
    rssKb,
    processes: procs.size,
    folders: readdirSync(daemon.stateDir).filter((n) => !n.startsWith('.')).length,
    cgroups,
    runtimeStates: runtimeIds(daemon.stateDir).length,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Kills every container of the berthd at `address` through its API and waits (10 s at most) for them to go. */
export async function killContainersThrough(address: string): Promise<void> {
  const client = connect(address);
  try {
    const state = await client.state({ id: '' });
    for (const c of state.containers)
      await client.signal({ id: c.id, pid: 'init', signal: 9 }).catch(() => {});
    await waitFor(
      async () => (await client.state({ id: '' })).containers.length === 0,
      'containers gone',
      10_000,
    ).catch(() => {});
  } catch {
    // Not answering: the caller stops it by its PID.
  } finally {
    client.close();
  }
}
