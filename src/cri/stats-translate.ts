/**
 * Pure translation of cgroup statistics (the runtime's `Stat`) and network
 * counters into the CRI's stats messages, by containerd 1.6's rules
 * (pkg/cri/server/container_stats_list.go, sandbox_stats_linux.go):
 * working set = usage − inactive file pages, available = limit − working set
 * (0 when unlimited), CPU cores used = the usage's growth between two
 * samples over the time between them (0 for a first sample).
 */
import type { Stat } from '../runtime/index.js';
import type { CriContainerView } from './container-lookup.js';
import type {
  ContainerAttributes,
  ContainerStatsFilter,
  CpuUsage,
  MemoryUsage,
  NetworkInterfaceUsage,
  NetworkUsage,
  PodSandboxAttributes,
  PodSandboxStatsFilter,
} from './generated/api.js';
import type { PodRecord } from './sandbox-store.js';

/** Beyond this a memory limit is "none" (the kernel rounds its maximum): containerd's and cAdvisor's figure. */
export const UNLIMITED_MEMORY = 1n << 62n;
/** The pod's interface the CNI plugins name (containerd's defaultIfName). */
export const DEFAULT_INTERFACE = 'eth0';

/** A container's (or pod's) last CPU reading, kept for the next rate. */
export interface CpuSample {
  usageNs: bigint;
  atNs: bigint;
  /** The rate computed at this sample, repeated for a next sample at the same instant. */
  nanoCores: bigint;
}

export function statTimestampNs(stat: Stat): bigint {
  return BigInt(stat.timestamp.getTime()) * 1_000_000n;
}

/** CPU usage now and the sample to keep; `previous` is the last one of the same container. */
export function cpuUsage(
  stat: Stat,
  atNs: bigint,
  previous: CpuSample | undefined,
): { usage: CpuUsage; sample: CpuSample } {
  const usageNs = stat.cpu.usage.total;
  let nanoCores = 0n;
  if (previous) {
    const interval = atNs - previous.atNs;
    if (interval <= 0n) nanoCores = previous.nanoCores;
    // A usage that went down is a new cgroup under the same id: start over.
    else if (usageNs >= previous.usageNs)
      nanoCores = ((usageNs - previous.usageNs) * 1_000_000_000n) / interval;
  }
  return {
    usage: {
      timestamp: atNs,
      usageCoreNanoSeconds: { value: usageNs },
      usageNanoCores: { value: nanoCores },
    },
    sample: { usageNs, atNs, nanoCores },
  };
}

/** memory.stat's keys: v1 has hierarchical `total_*` ones, v2 names them plainly. */
function memoryStatKeys(raw: Record<string, bigint>): {
  inactiveFile: bigint;
  rss: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
} {
  if ('total_inactive_file' in raw) {
    return {
      inactiveFile: raw['total_inactive_file'] ?? 0n,
      rss: raw['total_rss'] ?? 0n,
      pageFaults: raw['total_pgfault'] ?? 0n,
      majorPageFaults: raw['total_pgmajfault'] ?? 0n,
    };
  }
  return {
    inactiveFile: raw['inactive_file'] ?? 0n,
    rss: raw['anon'] ?? 0n,
    pageFaults: raw['pgfault'] ?? 0n,
    majorPageFaults: raw['pgmajfault'] ?? 0n,
  };
}

export function workingSetBytes(usage: bigint, inactiveFile: bigint): bigint {
  return inactiveFile < usage ? usage - inactiveFile : 0n;
}

export function memoryUsage(stat: Stat, atNs: bigint): MemoryUsage {
  const keys = memoryStatKeys(stat.memory.raw);
  const usage = stat.memory.usage.usage;
  const workingSet = workingSetBytes(usage, keys.inactiveFile);
  const limit = stat.memory.usage.limit;
  const available =
    limit > 0n && limit <= UNLIMITED_MEMORY && limit > workingSet ? limit - workingSet : 0n;
  return {
    timestamp: atNs,
    workingSetBytes: { value: workingSet },
    availableBytes: { value: available },
    usageBytes: { value: usage },
    rssBytes: { value: keys.rss },
    pageFaults: { value: keys.pageFaults },
    majorPageFaults: { value: keys.majorPageFaults },
  };
}

export function containerAttributes(view: CriContainerView): ContainerAttributes {
  return {
    id: view.id,
    metadata: { name: view.metadata.name, attempt: view.metadata.attempt },
    labels: { ...view.labels },
    annotations: { ...view.annotations },
  };
}

export function podAttributes(record: PodRecord): PodSandboxAttributes {
  return {
    id: record.id,
    metadata: { ...record.metadata },
    labels: { ...record.labels },
    annotations: { ...record.annotations },
  };
}

/** Every key of `selector` is in `labels` with the same value (an empty selector matches all). */
export function matchesLabels(
  labels: Readonly<Record<string, string>>,
  selector: Readonly<Record<string, string>> | undefined,
): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}

/** ListContainerStats' filter: id and pod by exact value or prefix (as crictl abbreviates them), labels. */
export function containerMatches(
  view: CriContainerView,
  filter: ContainerStatsFilter | undefined,
): boolean {
  if (!filter) return true;
  if (filter.id && !view.id.startsWith(filter.id)) return false;
  if (filter.podSandboxId && !view.podSandboxId.startsWith(filter.podSandboxId)) return false;
  return matchesLabels(view.labels, filter.labelSelector);
}

export function podMatches(record: PodRecord, filter: PodSandboxStatsFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.id && !record.id.startsWith(filter.id)) return false;
  return matchesLabels(record.labels, filter.labelSelector);
}

/** One interface's counters from /proc/<pid>/net/dev. */
export interface InterfaceCounters {
  name: string;
  rxBytes: bigint;
  rxErrors: bigint;
  txBytes: bigint;
  txErrors: bigint;
}

/**
 * /proc/<pid>/net/dev (the counters of the network namespace `pid` is in):
 * two header lines, then `name: rx bytes packets errs drop fifo frame
 * compressed multicast tx bytes packets errs ...` per interface.
 */
export function parseNetDev(text: string): InterfaceCounters[] {
  const counters: InterfaceCounters[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim();
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (!name || fields.length < 16 || !fields.every((f) => /^\d+$/.test(f))) continue;
    const n = fields.map((f) => BigInt(f));
    counters.push({ name, rxBytes: n[0]!, rxErrors: n[2]!, txBytes: n[8]!, txErrors: n[10]! });
  }
  return counters;
}

function interfaceUsage(counters: InterfaceCounters): NetworkInterfaceUsage {
  return {
    name: counters.name,
    rxBytes: { value: counters.rxBytes },
    rxErrors: { value: counters.rxErrors },
    txBytes: { value: counters.txBytes },
    txErrors: { value: counters.txErrors },
  };
}

/** The pod's interfaces but loopback; the default one is eth0 (else the first). */
export function networkUsage(counters: InterfaceCounters[], atNs: bigint): NetworkUsage {
  const interfaces = counters.filter((c) => c.name !== 'lo');
  const preferred = interfaces.find((c) => c.name === DEFAULT_INTERFACE) ?? interfaces[0];
  return {
    timestamp: atNs,
    defaultInterface: preferred ? interfaceUsage(preferred) : undefined,
    interfaces: interfaces.map(interfaceUsage),
  };
}

/**
 * Several cgroups' statistics as one (a pod without a cgroup parent: its
 * pause container and containers): usages, counters and memory.stat keys
 * added; the memory limit is none.
 */
export function sumStats(stats: readonly Stat[], timestamp: Date): Stat | undefined {
  if (stats.length === 0) return undefined;
  const [first] = stats;
  const raw: Record<string, bigint> = {};
  let cpuTotal = 0n;
  let memoryUsed = 0n;
  let pids = 0n;
  for (const stat of stats) {
    cpuTotal += stat.cpu.usage.total;
    memoryUsed += stat.memory.usage.usage;
    pids += stat.pids.current;
    for (const [key, value] of Object.entries(stat.memory.raw)) raw[key] = (raw[key] ?? 0n) + value;
  }
  return {
    ...first!,
    timestamp,
    cpu: { ...first!.cpu, usage: { ...first!.cpu.usage, total: cpuTotal, percpu: [] } },
    memory: {
      ...first!.memory,
      usage: { ...first!.memory.usage, usage: memoryUsed, limit: 0n },
      raw,
    },
    pids: { current: pids, limit: 0n },
  };
}
