/** Container statistics, shaped like the seed's `Stat` (containerd v0.2.8's runtime package: docs/SEED.md). */

export interface CpuUsage {
  /** Nanoseconds of CPU time, all CPUs together. */
  total: bigint;
  /** Nanoseconds per CPU, indexed by CPU number. */
  percpu: bigint[];
  /** Nanoseconds spent in kernel mode. */
  kernel: bigint;
  /** Nanoseconds spent in user mode. */
  user: bigint;
}

export interface Throttling {
  periods: bigint;
  throttledPeriods: bigint;
  /** Nanoseconds. */
  throttledTime: bigint;
}

export interface CpuStats {
  usage: CpuUsage;
  throttling: Throttling;
}

export interface MemoryEntry {
  limit: bigint;
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export interface MemoryStats {
  cache: bigint;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  /** Every key of memory.stat (v1) or memory.stat (v2), as read. */
  raw: Record<string, bigint>;
}

export interface PidsStats {
  current: bigint;
  limit: bigint;
}

export interface BlkioEntry {
  major: bigint;
  minor: bigint;
  op: string;
  value: bigint;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioEntry[];
  ioServicedRecursive: BlkioEntry[];
  ioQueuedRecursive: BlkioEntry[];
  ioServiceTimeRecursive: BlkioEntry[];
  ioWaitTimeRecursive: BlkioEntry[];
  ioMergedRecursive: BlkioEntry[];
  ioTimeRecursive: BlkioEntry[];
  sectorsRecursive: BlkioEntry[];
}

export interface HugetlbStats {
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export interface Stat {
  timestamp: Date;
  cpu: CpuStats;
  memory: MemoryStats;
  pids: PidsStats;
  blkio: BlkioStats;
  /** Keyed by page size as the kernel names it ("2MB", "1GB"). */
  hugetlb: Record<string, HugetlbStats>;
}
