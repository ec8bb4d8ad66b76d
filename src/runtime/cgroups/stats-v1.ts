/**
 * Statistics of cgroup v1 hierarchies, mirroring runc 1.1.5's
 * libcontainer/cgroups/fs GetStats so that every figure equals
 * `runc events --stats` on a v1 or hybrid host.
 */
import type { BlkioEntry, BlkioStats, MemoryEntry, Stat } from './types.js';
import { CgroupNotFoundError, CgroupParseError } from './errors.js';
import {
  parseFlatKeyed,
  parseParamUint,
  parseUint,
  parseUintStrict,
  scanLines,
  emptyStat,
  type CgroupFileReader,
  readMemoryStat,
} from './parse.js';
import type { CgroupPaths } from './paths.js';
import { applyHugetlbV2 } from './stats-v2.js';
import { USER_HZ } from '../procfs.js';

/** USER_HZ, as a bigint: runc hard-codes it too rather than asking sysconf. */
const CLOCK_TICKS = BigInt(USER_HZ);
const NS_PER_SECOND = 1_000_000_000n;

/**
 * cpuacct.stat ("user N\nsystem N", in USER_HZ ticks) to nanoseconds, as runc
 * 1.1.5 does: ticks * 1e9 / 100 in uint64. runc reads cpuacct.usage_all only
 * for the per-CPU user/system split, which the seed's Stat (docs/SEED.md) does not carry, so
 * the totals keep tick (10 ms) granularity here exactly as in runc.
 */
export function parseCpuacctStat(content: string): { user: bigint; kernel: bigint } {
  const file = 'cpuacct.stat';
  const f = content.split(/[ \t\n\v\f\r]+/).filter((s) => s !== '');
  if (f.length < 4 || f[0] !== 'user' || f[2] !== 'system') {
    throw new CgroupParseError(file, `malformed content ${JSON.stringify(content)}`);
  }
  const ns = (ticks: bigint) => BigInt.asUintN(64, ticks * NS_PER_SECOND) / CLOCK_TICKS;
  return {
    user: ns(parseUintStrict(f[1] as string, file)),
    kernel: ns(parseUintStrict(f[3] as string, file)),
  };
}

/** cpuacct.usage_percpu: nanoseconds per possible CPU, space separated. */
export function parsePercpu(content: string): bigint[] {
  return content
    .split(/[ \t\n\v\f\r]+/)
    .filter((s) => s !== '')
    .map((s) => parseUintStrict(s, 'cpuacct.usage_percpu'));
}

/** cpu.stat of the v1 cpu controller: CFS throttling (throttled_time is already ns). */
export function applyCpuStatV1(content: string, stat: Stat): void {
  const thr = stat.cpu.throttling;
  for (const [k, v] of parseFlatKeyed(content, 'cpu.stat')) {
    if (k === 'nr_periods') thr.periods = v;
    else if (k === 'nr_throttled') thr.throttledPeriods = v;
    else if (k === 'throttled_time') thr.throttledTime = v;
  }
}

/**
 * One blkio stat file ("8:0 Read 1282048" lines, or "8:0 6792" for sectors,
 * "Total N" lines skipped). Returns undefined when there are no entries, which
 * runc treats the same as a missing file.
 */
export function parseBlkioFile(content: string, file: string): BlkioEntry[] | undefined {
  const out: BlkioEntry[] = [];
  for (const line of scanLines(content)) {
    const f = line.split(/[ :]/).filter((s) => s !== '');
    if (f.length < 3) {
      if (f.length === 2 && f[0] === 'Total') continue;
      throw new CgroupParseError(file, `invalid line ${JSON.stringify(line)}`);
    }
    const major = parseUintStrict(f[0] as string, file);
    const minor = parseUintStrict(f[1] as string, file);
    let op = '';
    let valueField = 2;
    if (f.length === 4) {
      op = f[2] as string;
      valueField = 3;
    }
    out.push({ major, minor, op, value: parseUintStrict(f[valueField] as string, file) });
  }
  return out.length === 0 ? undefined : out;
}

type BlkioKey = keyof BlkioStats;

// runc tries these groups in order and takes the first whose first file has
// entries: BFQ with debug stats, BFQ, CFQ, then the throttle files, which
// every kernel has (recursive first, then this-cgroup-only).
const BLKIO_GROUPS: readonly (readonly [string, BlkioKey][])[] = [
  [
    ['blkio.bfq.sectors_recursive', 'sectorsRecursive'],
    ['blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.bfq.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.bfq.io_queued_recursive', 'ioQueuedRecursive'],
    ['blkio.bfq.time_recursive', 'ioTimeRecursive'],
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.sectors_recursive', 'sectorsRecursive'],
    ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.io_queued_recursive', 'ioQueuedRecursive'],
    ['blkio.time_recursive', 'ioTimeRecursive'],
    ['blkio.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive'],
  ],
];

export function applyBlkioV1(read: CgroupFileReader, dir: string, stat: Stat): void {
  for (const group of BLKIO_GROUPS) {
    for (let i = 0; i < group.length; i++) {
      const [file, key] = group[i] as [string, BlkioKey];
      let entries: BlkioEntry[] | undefined;
      try {
        const content = read(dir, file);
        entries = content === undefined ? undefined : parseBlkioFile(content, file);
      } catch (err) {
        // runc moves on to the next group on any failure of a group's first file.
        if (i === 0 && !(err instanceof CgroupNotFoundError)) entries = undefined;
        else throw err;
      }
      if (entries === undefined) {
        if (i === 0) break;
        // A later file of the chosen group empty: runc stops with what it has.
        return;
      }
      stat.blkio[key] = entries;
      if (i === group.length - 1) return;
    }
  }
}

/**
 * runc's getMemoryData for "" (memory.*), "memsw", "kmem" and "kmem.tcp". The
 * optional modules read as zero when their usage file is missing; the base
 * module's files must all exist.
 */
function memoryData(read: CgroupFileReader, dir: string, name: string): MemoryEntry {
  const module = name === '' ? 'memory' : `memory.${name}`;
  const get = (suffix: string, optional: boolean): bigint | undefined => {
    const file = `${module}.${suffix}`;
    const content = read(dir, file);
    if (content === undefined) {
      if (optional) return undefined;
      throw new CgroupParseError(`${dir}/${file}`, 'missing');
    }
    return parseParamUint(content, file);
  };
  const usage = get('usage_in_bytes', name !== '');
  if (usage === undefined) return { limit: 0n, usage: 0n, max: 0n, failcnt: 0n };
  const max = get('max_usage_in_bytes', false) as bigint;
  const failcnt = get('failcnt', false) as bigint;
  // Linux 6.1+ may drop memory.kmem.limit_in_bytes; runc 1.1.10 reads that as
  // 0 (1.1.5 failed the whole call), and so do we.
  const limit = get('limit_in_bytes', name === 'kmem') ?? 0n;
  return { limit, usage, max, failcnt };
}

export function applyMemoryV1(read: CgroupFileReader, dir: string, stat: Stat): void {
  const mem = stat.memory;
  if (!readMemoryStat(read, dir, stat)) return;
  mem.cache = mem.raw['cache'] ?? 0n;
  mem.usage = memoryData(read, dir, '');
  mem.swap = memoryData(read, dir, 'memsw');
  mem.kernel = memoryData(read, dir, 'kmem');
  mem.kernelTCP = memoryData(read, dir, 'kmem.tcp');
}

export function applyCpuacctV1(read: CgroupFileReader, dir: string, stat: Stat): void {
  const need = (file: string): string => {
    const content = read(dir, file);
    if (content === undefined) throw new CgroupParseError(`${dir}/${file}`, 'missing');
    return content;
  };
  const { user, kernel } = parseCpuacctStat(need('cpuacct.stat'));
  const usage = stat.cpu.usage;
  usage.total = parseParamUint(need('cpuacct.usage'), 'cpuacct.usage');
  usage.percpu = parsePercpu(need('cpuacct.usage_percpu'));
  usage.user = user;
  usage.kernel = kernel;
}

/** pids.max "max" means no limit, which runc (and the seed) report as 0. */
export function applyPidsV1(read: CgroupFileReader, dir: string, stat: Stat): void {
  const current = read(dir, 'pids.current');
  const max = read(dir, 'pids.max');
  if (current === undefined || max === undefined) {
    throw new CgroupParseError(`${dir}/pids.current`, 'missing pids files');
  }
  stat.pids.current = parseParamUint(current, 'pids.current');
  const m = max.trim();
  stat.pids.limit = m === 'max' ? 0n : parseUint(m, 'pids.max');
}

export function applyHugetlbV1(
  read: CgroupFileReader,
  dir: string,
  pageSizes: readonly string[],
  stat: Stat,
): void {
  for (const size of pageSizes) {
    const get = (suffix: string): bigint => {
      const file = `hugetlb.${size}.${suffix}`;
      const content = read(dir, file);
      if (content === undefined) throw new CgroupParseError(`${dir}/${file}`, 'missing');
      return parseParamUint(content, file);
    };
    stat.hugetlb[size] = {
      usage: get('usage_in_bytes'),
      max: get('max_usage_in_bytes'),
      failcnt: get('failcnt'),
    };
  }
}

/**
 * All statistics of a v1 (or hybrid) cgroup set. Controllers absent from
 * `paths.v1` leave their figures at zero, as in runc.
 *
 * Hybrid hosts: when hugetlb is not a v1 hierarchy but the process has a
 * unified cgroup, hugetlb is read there with v2 semantics. runc 1.1.5 reads no
 * hugetlb at all in that layout, so the two agree whenever the unified
 * cgroup has the hugetlb controller disabled (the default).
 */
export function readStatsV1(
  read: CgroupFileReader,
  paths: CgroupPaths,
  pageSizes: readonly string[],
  timestamp: Date = new Date(),
): Stat {
  const stat = emptyStat(timestamp);
  const dir = (c: string) => paths.v1.get(c);
  let d: string | undefined;
  if ((d = dir('memory'))) applyMemoryV1(read, d, stat);
  if ((d = dir('cpu'))) {
    const cpuStat = read(d, 'cpu.stat');
    if (cpuStat !== undefined) applyCpuStatV1(cpuStat, stat);
  }
  if ((d = dir('cpuacct'))) applyCpuacctV1(read, d, stat);
  if ((d = dir('pids'))) applyPidsV1(read, d, stat);
  if ((d = dir('blkio'))) applyBlkioV1(read, d, stat);
  if ((d = dir('hugetlb'))) {
    applyHugetlbV1(read, d, pageSizes, stat);
  } else if (paths.unified !== undefined) {
    try {
      applyHugetlbV2(read, paths.unified, pageSizes, stat);
    } catch (err) {
      // The v1 hierarchies decide whether the container exists; a unified
      // cgroup the runtime never made is just one without hugetlb figures.
      if (!(err instanceof CgroupNotFoundError)) throw err;
    }
  }
  return stat;
}
