/**
 * Statistics of a cgroup v2 (unified) directory, mirroring runc 1.1.5's
 * libcontainer/cgroups/fs2 GetStats so that every figure equals
 * `runc events --stats` on a pure v2 host.
 */
import type { BlkioEntry, BlkioStats, MemoryEntry, Stat } from './types.js';
import { CgroupParseError } from './errors.js';
import {
  MAX_UINT64,
  addUint64,
  emptyStat,
  parseFlatKeyed,
  parseParamUint,
  parseUintStrict,
  scanLines,
  valueByKey,
  type CgroupFileReader,
  readMemoryStat,
} from './parse.js';

/** cpu.stat: microseconds in v2, nanoseconds in the Stat (and in runc's v1-shaped output). */
export function applyCpuStatV2(content: string, stat: Stat): void {
  const usage = stat.cpu.usage;
  const thr = stat.cpu.throttling;
  const us = (v: bigint) => BigInt.asUintN(64, v * 1000n);
  for (const [k, v] of parseFlatKeyed(content, 'cpu.stat')) {
    switch (k) {
      case 'usage_usec':
        usage.total = us(v);
        break;
      case 'user_usec':
        usage.user = us(v);
        break;
      case 'system_usec':
        usage.kernel = us(v);
        break;
      case 'nr_periods':
        thr.periods = v;
        break;
      case 'nr_throttled':
        thr.throttledPeriods = v;
        break;
      case 'throttled_usec':
        thr.throttledTime = us(v);
        break;
    }
  }
}

/**
 * io.stat mapped onto the v1 tables as runc does: rbytes/wbytes become
 * Read/Write of ioServiceBytesRecursive, rios/wios Read/Write of
 * ioServicedRecursive; dbytes, dios and the rest have no v1 counterpart.
 * Devices keep file order (runc's order is Go map order, i.e. random).
 */
export function parseIoStat(
  content: string,
): Pick<BlkioStats, 'ioServiceBytesRecursive' | 'ioServicedRecursive'> {
  const file = 'io.stat';
  // readCgroup2MapFile: a later line for the same device replaces the earlier one.
  const byDevice = new Map<string, string[]>();
  for (const line of scanLines(content)) {
    const parts = line.split(/[ \t\n\v\f\r]+/).filter((p) => p !== '');
    if (parts.length < 2) continue;
    byDevice.set(parts[0] as string, parts.slice(1));
  }
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const [dev, items] of byDevice) {
    const d = dev.split(':');
    if (d.length !== 2) continue;
    const major = parseUintStrict(d[0] as string, file);
    const minor = parseUintStrict(d[1] as string, file);
    for (const item of items) {
      const kv = item.split('=');
      if (kv.length !== 2) continue;
      let table: BlkioEntry[];
      let op: string;
      switch (kv[0]) {
        case 'rbytes':
          [table, op] = [bytes, 'Read'];
          break;
        case 'wbytes':
          [table, op] = [bytes, 'Write'];
          break;
        case 'rios':
          [table, op] = [ios, 'Read'];
          break;
        case 'wios':
          [table, op] = [ios, 'Write'];
          break;
        default:
          continue;
      }
      table.push({ major, minor, op, value: parseUintStrict(kv[1] as string, file) });
    }
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}

/** pids.max "max" means no limit, which runc (and the seed, docs/SEED.md) report as 0. */
export function applyPidsV2(read: CgroupFileReader, dir: string, stat: Stat): void {
  const current = read(dir, 'pids.current');
  if (current === undefined) {
    // The pids controller is not enabled here: count the member processes.
    let procs: string | undefined;
    try {
      procs = read(dir, 'cgroup.procs');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EOPNOTSUPP' && code !== 'ENOTSUP') throw err;
      // A threaded cgroup refuses cgroup.procs.
      procs = read(dir, 'cgroup.threads');
    }
    if (procs === undefined) throw new CgroupParseError(`${dir}/cgroup.procs`, 'missing');
    stat.pids.current = BigInt(procs.split('\n').length - 1);
    stat.pids.limit = 0n;
    return;
  }
  const max = read(dir, 'pids.max');
  if (max === undefined) throw new CgroupParseError(`${dir}/pids.max`, 'missing');
  stat.pids.current = parseParamUint(current, 'pids.current');
  const limit = parseParamUint(max, 'pids.max');
  stat.pids.limit = limit === MAX_UINT64 ? 0n : limit;
}

/**
 * memory.stat, memory.current/max and memory.swap.current/max. A missing file
 * ends the section where runc's would (it ignores ENOENT), keeping what was read.
 */
export function applyMemoryV2(read: CgroupFileReader, dir: string, stat: Stat): void {
  const mem = stat.memory;
  if (!readMemoryStat(read, dir, stat)) return;
  mem.cache = mem.raw['file'] ?? 0n;

  const usage = memoryDataV2(read, dir, 'memory');
  if (usage === undefined) return;
  mem.usage = usage;

  let swap: MemoryEntry | undefined;
  if (read(dir, 'memory.swap.current') === undefined) {
    // No swap accounting (CONFIG_MEMCG_SWAP off or swapaccount=0).
    swap = { limit: 0n, usage: 0n, max: 0n, failcnt: 0n };
  } else {
    swap = memoryDataV2(read, dir, 'memory.swap');
    if (swap === undefined) return;
  }
  // v1 reports swap as memory+swap; runc keeps that meaning on v2, adding
  // with uint64 wrap-around exactly as Go does.
  swap.usage = addUint64(swap.usage, usage.usage);
  if (swap.limit !== MAX_UINT64) swap.limit = addUint64(swap.limit, usage.limit);
  mem.swap = swap;
}

/** runc's getMemoryDataV2: usage and limit only (no max usage or failcnt on v2 in 1.1.5). */
function memoryDataV2(
  read: CgroupFileReader,
  dir: string,
  module: string,
): MemoryEntry | undefined {
  const current = read(dir, `${module}.current`);
  if (current === undefined) return undefined;
  const max = read(dir, `${module}.max`);
  if (max === undefined) return undefined;
  return {
    usage: parseParamUint(current, `${module}.current`),
    limit: parseParamUint(max, `${module}.max`),
    max: 0n,
    failcnt: 0n,
  };
}

/**
 * hugetlb.<size>.current and the "max" count of hugetlb.<size>.events
 * (allocations that failed on the limit). v2 keeps no peak usage, so max is 0.
 * Stops at the first missing file, as runc does, keeping sizes already read.
 */
export function applyHugetlbV2(
  read: CgroupFileReader,
  dir: string,
  pageSizes: readonly string[],
  stat: Stat,
): void {
  for (const size of pageSizes) {
    const current = read(dir, `hugetlb.${size}.current`);
    if (current === undefined) return;
    const events = read(dir, `hugetlb.${size}.events`);
    if (events === undefined) return;
    stat.hugetlb[size] = {
      usage: parseParamUint(current, `hugetlb.${size}.current`),
      max: 0n,
      failcnt: valueByKey(events, 'max', `hugetlb.${size}.events`),
    };
  }
}

export function readStatsV2(
  read: CgroupFileReader,
  dir: string,
  pageSizes: readonly string[],
  timestamp: Date = new Date(),
): Stat {
  const stat = emptyStat(timestamp);
  applyPidsV2(read, dir, stat);
  applyMemoryV2(read, dir, stat);
  const io = read(dir, 'io.stat');
  if (io !== undefined) Object.assign(stat.blkio, parseIoStat(io));
  const cpu = read(dir, 'cpu.stat');
  if (cpu !== undefined) applyCpuStatV2(cpu, stat);
  applyHugetlbV2(read, dir, pageSizes, stat);
  return stat;
}
