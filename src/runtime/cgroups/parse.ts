/**
 * Value parsing shared by the v1 and v2 readers, with the exact rules of runc
 * 1.1.5's libcontainer/cgroups/fscommon (so that our figures equal `runc events`).
 */
import type { Stat } from './types.js';
import { CgroupParseError } from './errors.js';

export const MAX_UINT64 = 0xffff_ffff_ffff_ffffn;

/**
 * Reads one file of a cgroup directory. Returns undefined when the file does
 * not exist (runc treats many files as optional); throws CgroupNotFoundError
 * when the directory itself is gone.
 */
export type CgroupFileReader = (dir: string, file: string) => string | undefined;

const DECIMAL = /^[0-9]+$/;
// ParseInt succeeds (or overflows) below zero; "-0" is not below zero and fails.
const NEGATIVE = /^-0*[1-9][0-9]*$/;

/** Go's strconv.ParseUint(s, 10, 64): digits only, no sign, no overflow. */
export function parseUintStrict(s: string, file: string): bigint {
  if (DECIMAL.test(s)) {
    const v = BigInt(s);
    if (v <= MAX_UINT64) return v;
  }
  throw new CgroupParseError(file, `${JSON.stringify(s)} is not a uint64`);
}

/**
 * fscommon.ParseUint: like strconv.ParseUint, but negative numbers read as 0
 * because some memory cgroup counters go negative through kernel bugs.
 */
export function parseUint(s: string, file: string): bigint {
  if (NEGATIVE.test(s)) return 0n;
  return parseUintStrict(s, file);
}

/** fscommon.GetCgroupParamUint on a file's contents: trimmed, "max" is MaxUint64. */
export function parseParamUint(content: string, file: string): bigint {
  const s = content.trim();
  if (s === 'max') return MAX_UINT64;
  return parseUint(s, file);
}

/**
 * The lines bufio.Scanner would yield: split at "\n", a trailing "\r" dropped,
 * and no empty token after a final newline.
 */
export function scanLines(content: string): string[] {
  if (content === '') return [];
  const lines = content.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * A flat-keyed file ("key value" lines, as memory.stat and cpu.stat) parsed
 * with fscommon.ParseKeyValue: exactly one space, else the whole file fails.
 */
export function parseFlatKeyed(content: string, file: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of scanLines(content)) {
    const sp = line.indexOf(' ');
    if (sp < 0 || line.indexOf(' ', sp + 1) >= 0) {
      throw new CgroupParseError(file, `line ${JSON.stringify(line)} is not in key value format`);
    }
    out.set(line.slice(0, sp), parseUint(line.slice(sp + 1), file));
  }
  return out;
}

/**
 * fscommon.GetValueByKey: the first "key value" line with that key, 0 when the
 * key is absent; lines of any other shape are skipped.
 */
export function valueByKey(content: string, key: string, file: string): bigint {
  for (const line of content.split('\n')) {
    const parts = line.split(' ');
    if (parts.length === 2 && parts[0] === key) return parseUint(parts[1] as string, file);
  }
  return 0n;
}

/** Go's uint64 addition, which wraps instead of failing. */
export function addUint64(a: bigint, b: bigint): bigint {
  return BigInt.asUintN(64, a + b);
}

/** Every field zero, as runc's cgroups.NewStats() before any controller is read. */
export function emptyStat(timestamp: Date = new Date()): Stat {
  const entry = () => ({ limit: 0n, usage: 0n, max: 0n, failcnt: 0n });
  return {
    timestamp,
    cpu: {
      usage: { total: 0n, percpu: [], kernel: 0n, user: 0n },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    memory: {
      cache: 0n,
      usage: entry(),
      swap: entry(),
      kernel: entry(),
      kernelTCP: entry(),
      raw: {},
    },
    pids: { current: 0n, limit: 0n },
    blkio: {
      ioServiceBytesRecursive: [],
      ioServicedRecursive: [],
      ioQueuedRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
    hugetlb: {},
  };
}

/**
 * The name the kernel (and runc's cgroups.HugePageSizes) gives a huge page size
 * directory of /sys/kernel/mm/hugepages: "hugepages-2048kB" is "2MB".
 * Returns undefined for names runc would skip.
 */
export function hugePageSizeName(dirName: string): string | undefined {
  const m = /^hugepages-([0-9]+)kB$/.exec(dirName);
  if (!m) return undefined;
  let size = Number(m[1]);
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (size >= 1024 && i < units.length - 1) {
    size /= 1024;
    i++;
  }
  // Go formats with %g; String() agrees for every size a kernel offers.
  return `${String(size)}${units[i] as string}`;
}

/**
 * Fills memory.raw from memory.stat (same format on v1 and v2) and returns
 * false when the file is missing, in which case runc reports no memory figures.
 */
export function readMemoryStat(read: CgroupFileReader, dir: string, stat: Stat): boolean {
  const text = read(dir, 'memory.stat');
  if (text === undefined) return false;
  for (const [key, value] of parseFlatKeyed(text, 'memory.stat')) stat.memory.raw[key] = value;
  return true;
}
