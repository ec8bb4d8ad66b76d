/**
 * How berthd's answers look: container tables and details, event lines,
 * stats rows, and their JSON forms (the wire's messages, field names as
 * ts-proto gives them, timestamps as RFC 3339 strings).
 */
import type {
  Checkpoint,
  Container,
  Event,
  Process,
  StateResponse,
  StatsResponse,
} from '../api/generated/berth.js';
import { readProcessStartMs } from '../runtime/index.js';
import type { BerthClient } from './client.js';
import {
  formatAge,
  formatArgs,
  formatBytes,
  formatTimestamp,
  table,
  timestampNs,
} from './output.js';

/**
 * When each container started. v0.2.8's State carries no time: berth takes
 * it from the init process's start in /proc (berthd runs on this host), else
 * from the `start-container` events berthd still keeps in its journal.
 */
export async function containerStarts(
  client: BerthClient,
  containers: Container[],
): Promise<Map<string, number>> {
  const starts = new Map<string, number>();
  for (const c of containers) {
    const init = c.processes.find((p) => p.pid === 'init');
    const started = init ? readProcessStartMs(init.systemPid) : undefined;
    if (started !== undefined) starts.set(c.id, started);
  }
  const missing = new Set(containers.map((c) => c.id).filter((id) => !starts.has(id)));
  if (missing.size === 0) return starts;
  const stream = client.events({ timestamp: { seconds: 0n, nanos: 1 }, storedOnly: true });
  const timer = setTimeout(() => stream.cancel(), 2_000);
  try {
    for await (const event of stream) {
      if (event.type === 'start-container' && missing.has(event.id))
        starts.set(event.id, Number(timestampNs(event.timestamp) / 1_000_000n));
    }
  } catch {
    // Ages stay unknown.
  } finally {
    clearTimeout(timer);
  }
  return starts;
}

function sortById<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.id.localeCompare(b.id));
}

export function containersTable(
  containers: Container[],
  starts: Map<string, number>,
  now = Date.now(),
): string {
  return table(
    ['ID', 'STATUS', 'PROCESSES', 'PIDS', 'BUNDLE', 'AGE'],
    sortById(containers).map((c) => {
      const started = starts.get(c.id);
      return [
        c.id,
        c.status,
        c.processes.map((p) => p.pid).join(',') || '-',
        String(c.pids.length),
        c.bundlePath,
        started === undefined ? '-' : formatAge(now - started),
      ];
    }),
  );
}

/** A container's JSON: the wire's message, plus when it started (or null). */
export function containerJson(c: Container, starts: Map<string, number>): Record<string, unknown> {
  const started = starts.get(c.id);
  return { ...c, startedAt: started === undefined ? null : new Date(started).toISOString() };
}

export function processesTable(processes: Process[]): string {
  return table(
    ['PROCESS', 'SYSTEM PID', 'TTY', 'USER', 'CWD', 'COMMAND'],
    processes.map((p) => [
      p.pid,
      String(p.systemPid),
      p.terminal ? 'yes' : 'no',
      p.user ? `${p.user.uid}:${p.user.gid}` : '-',
      p.cwd || '-',
      formatArgs(p.args, 60),
    ]),
  );
}

export function containerDetails(c: Container, started: number | undefined): string {
  const rows: Array<[string, string]> = [
    ['ID', c.id],
    ['Status', c.status],
    ['Bundle', c.bundlePath],
    ['Runtime', c.runtime || '-'],
    ['Labels', c.labels.join(', ') || '-'],
    ['PIDs', c.pids.join(', ') || '-'],
    [
      'Started',
      started === undefined
        ? '-'
        : `${new Date(started).toISOString()} (${formatAge(Date.now() - started)} ago)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  const head = rows.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${v}`).join('\n');
  return `${head}\n\n${processesTable(c.processes)}`;
}

export function stateText(state: StateResponse, starts: Map<string, number>): string {
  const machine = state.machine
    ? `Machine: ${state.machine.cpus} CPUs, ${formatBytes(state.machine.memory)} memory\n`
    : '';
  return `${machine}\n${containersTable(state.containers, starts)}`;
}

export function stateJson(state: StateResponse, starts: Map<string, number>): unknown {
  return {
    containers: sortById(state.containers).map((c) => containerJson(c, starts)),
    machine: state.machine ?? null,
  };
}

// Events.

export function eventJson(event: Event): Record<string, unknown> {
  return { ...event, timestamp: formatTimestamp(event.timestamp) };
}

const EVENT_COLUMNS = [32, 17, 26, 14];

function eventCells(event: Event): string[] {
  return [formatTimestamp(event.timestamp), event.type, event.id, event.pid, String(event.status)];
}

function fixed(cells: string[]): string {
  return cells
    .map((cell, i) => {
      const width = EVENT_COLUMNS[i];
      return width === undefined ? cell : `${cell.padEnd(width - 2)}  `;
    })
    .join('')
    .trimEnd();
}

/** Event lines have fixed columns: they are printed as they come, without knowing the widths. */
export const EVENT_HEADER = `${fixed(['TIME', 'TYPE', 'ID', 'PID', 'STATUS'])}\n`;

export function eventLine(event: Event): string {
  return `${fixed(eventCells(event))}\n`;
}

// Checkpoints.

export function checkpointsTable(checkpoints: Checkpoint[]): string {
  return table(
    ['NAME', 'TCP', 'UNIX SOCKETS', 'SHELL', 'EXIT', 'EMPTY NS'],
    checkpoints.map((c) => [
      c.name,
      String(c.tcp),
      String(c.unixSockets),
      String(c.shell),
      String(c.exit),
      c.emptyNS.join(',') || '-',
    ]),
  );
}

// Stats.

export interface StatsSample {
  id: string;
  stats: StatsResponse;
}

export interface StatsFigures {
  id: string;
  /** Percent of one CPU (100 = one CPU busy), undefined before a second sample. */
  cpuPercent: number | undefined;
  memoryUsage: bigint;
  memoryLimit: bigint;
  memoryPercent: number | undefined;
  pids: bigint;
  blockRead: bigint;
  blockWrite: bigint;
  netRx: bigint;
  netTx: bigint;
}

/** No limit set: the kernel reports (nearly) the largest page-aligned int64. */
const UNLIMITED = 1n << 62n;

export function statsFigures(sample: StatsSample, previous?: StatsSample): StatsFigures {
  const cg = sample.stats.cgroupStats;
  const usage = cg?.memoryStats?.usage;
  // As docker: usage less the page cache (it can be dropped at any time).
  const cache = cg?.memoryStats?.stats?.['total_inactive_file'] ?? cg?.memoryStats?.cache ?? 0n;
  const raw = usage?.usage ?? 0n;
  const memoryUsage = raw > cache ? raw - cache : raw;
  const memoryLimit = usage?.limit ?? 0n;
  let cpuPercent: number | undefined;
  const prev = previous?.stats.cgroupStats?.cpuStats;
  const cur = cg?.cpuStats;
  if (prev && cur) {
    const cpuDelta = Number((cur.cpuUsage?.totalUsage ?? 0n) - (prev.cpuUsage?.totalUsage ?? 0n));
    const systemDelta = Number(cur.systemUsage - prev.systemUsage);
    const cpus = cur.cpuUsage?.percpuUsage.length || 1;
    if (systemDelta > 0 && cpuDelta >= 0) cpuPercent = (cpuDelta / systemDelta) * cpus * 100;
    else {
      // No host figure: the container's CPU time over the wall time between the samples.
      const wall = Number(
        timestampNs(sample.stats.timestamp) - timestampNs(previous?.stats.timestamp),
      );
      if (wall > 0 && cpuDelta >= 0) cpuPercent = (cpuDelta / wall) * 100;
    }
  }
  let blockRead = 0n;
  let blockWrite = 0n;
  for (const entry of cg?.blkioStats?.ioServiceBytesRecursive ?? []) {
    if (entry.op.toLowerCase() === 'read') blockRead += entry.value;
    if (entry.op.toLowerCase() === 'write') blockWrite += entry.value;
  }
  let netRx = 0n;
  let netTx = 0n;
  for (const net of sample.stats.networkStats) {
    netRx += net.rxBytes;
    netTx += net.TxBytes;
  }
  return {
    id: sample.id,
    cpuPercent,
    memoryUsage,
    memoryLimit,
    memoryPercent:
      memoryLimit > 0n && memoryLimit < UNLIMITED
        ? (Number(memoryUsage) / Number(memoryLimit)) * 100
        : undefined,
    pids: cg?.pidsStats?.current ?? 0n,
    blockRead,
    blockWrite,
    netRx,
    netTx,
  };
}

function percent(value: number | undefined): string {
  return value === undefined ? '--' : `${value.toFixed(2)}%`;
}

export function statsTable(figures: StatsFigures[]): string {
  return table(
    ['CONTAINER', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS', 'BLOCK I/O', 'NET I/O'],
    figures.map((f) => [
      f.id,
      percent(f.cpuPercent),
      `${formatBytes(f.memoryUsage)} / ${f.memoryLimit > 0n && f.memoryLimit < UNLIMITED ? formatBytes(f.memoryLimit) : 'unlimited'}`,
      percent(f.memoryPercent),
      String(f.pids),
      `${formatBytes(f.blockRead)} / ${formatBytes(f.blockWrite)}`,
      `${formatBytes(f.netRx)} / ${formatBytes(f.netTx)}`,
    ]),
  );
}

export function statsJson(sample: StatsSample, figures: StatsFigures): Record<string, unknown> {
  return {
    id: sample.id,
    cpuPercent: figures.cpuPercent ?? null,
    memoryPercent: figures.memoryPercent ?? null,
    stats: { ...sample.stats, timestamp: formatTimestamp(sample.stats.timestamp) },
  };
}
