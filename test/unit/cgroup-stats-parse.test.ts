import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemoryEntry, Stat } from '../../src/runtime/cgroups/types.js';
import { CgroupNotFoundError, CgroupParseError } from '../../src/runtime/cgroups/errors.js';
import {
  MAX_UINT64,
  emptyStat,
  hugePageSizeName,
  parseFlatKeyed,
  parseParamUint,
  type CgroupFileReader,
} from '../../src/runtime/cgroups/parse.js';
import {
  cgroupMountsFromMountInfo,
  resolveCgroupPaths,
  type CgroupMount,
  type CgroupPaths,
} from '../../src/runtime/cgroups/paths.js';
import { readCgroupFile, readStats } from '../../src/runtime/cgroups/stats.js';
import {
  applyBlkioV1,
  parseCpuacctStat,
  parsePercpu,
  readStatsV1,
} from '../../src/runtime/cgroups/stats-v1.js';
import { parseIoStat, readStatsV2 } from '../../src/runtime/cgroups/stats-v2.js';

const fixtureDir = (rel: string) =>
  fileURLToPath(new URL(`../../../test/fixtures/${rel}`, import.meta.url));
const fixture = (rel: string) => readFileSync(fixtureDir(rel), 'utf8');

/** The fixture host's paths, with its /sys/fs/cgroup moved under the fixture directory. */
function fixturePaths(host: string): CgroupPaths {
  const root = fixtureDir(host);
  const mounts: CgroupMount[] = cgroupMountsFromMountInfo(fixture(`${host}/mountinfo`)).map(
    (m) => ({ ...m, mountPoint: join(root, m.mountPoint) }),
  );
  return resolveCgroupPaths(fixture(`${host}/proc-pid-cgroup`), mounts);
}

/** An in-memory cgroup tree: dir -> file -> content. A dir not listed is "gone". */
function memReader(tree: Record<string, Record<string, string>>): CgroupFileReader {
  return (dir, file) => {
    const files = tree[dir];
    if (files === undefined) throw new CgroupNotFoundError(dir);
    return files[file];
  };
}

const entry = (limit: bigint, usage: bigint, max = 0n, failcnt = 0n): MemoryEntry => ({
  limit,
  usage,
  max,
  failcnt,
});
const zero = entry(0n, 0n);

function withoutTimestamp(s: Stat): Omit<Stat, 'timestamp'> {
  const { timestamp, ...rest } = s;
  assert.ok(timestamp instanceof Date);
  return rest;
}

test('cgroup v2 fixture: every field, mapped as runc 1.1.5 maps it', () => {
  const paths = fixturePaths('cgroup-v2');
  assert.equal(paths.version, 2);
  const stat = readStats(paths, { hugePageSizes: ['1GB', '2MB'] });
  const rawText = fixture('cgroup-v2/sys/fs/cgroup/berth/web-1/memory.stat');
  const raw = Object.fromEntries(parseFlatKeyed(rawText, 'memory.stat'));
  assert.equal(Object.keys(raw).length, 56);
  assert.deepEqual(withoutTimestamp(stat), {
    cpu: {
      usage: { total: 8_814_209_000n, percpu: [], kernel: 2_611_748_000n, user: 6_202_461_000n },
      throttling: { periods: 1243n, throttledPeriods: 37n, throttledTime: 1_840_263_000n },
    },
    memory: {
      cache: 11_972_608n,
      usage: entry(268_435_456n, 55_709_696n),
      // v1 meaning kept: memory+swap, limits added.
      swap: entry(268_435_456n * 2n, 55_709_696n + 1_048_576n),
      kernel: zero,
      kernelTCP: zero,
      raw,
    },
    pids: { current: 3n, limit: 512n },
    blkio: {
      ioServiceBytesRecursive: [
        { major: 8n, minor: 16n, op: 'Read', value: 1_459_200n },
        { major: 8n, minor: 16n, op: 'Write', value: 314_773_504n },
        { major: 8n, minor: 0n, op: 'Read', value: 90_430_464n },
        { major: 8n, minor: 0n, op: 'Write', value: 299_008_000n },
      ],
      ioServicedRecursive: [
        { major: 8n, minor: 16n, op: 'Read', value: 192n },
        { major: 8n, minor: 16n, op: 'Write', value: 353n },
        { major: 8n, minor: 0n, op: 'Read', value: 8950n },
        { major: 8n, minor: 0n, op: 'Write', value: 1252n },
      ],
      ioQueuedRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
    hugetlb: {
      '1GB': { usage: 0n, max: 0n, failcnt: 0n },
      '2MB': { usage: 4_194_304n, max: 0n, failcnt: 3n },
    },
  });
});

test('hybrid fixture (copied from a runc container on these machines)', () => {
  const paths = fixturePaths('cgroup-hybrid');
  assert.equal(paths.version, 1);
  const stat = readStats(paths, { hugePageSizes: ['1GB', '2MB'] });
  const memDir = 'cgroup-hybrid/sys/fs/cgroup/memory/process_api/68eca226aa9be2ed67db1a04d476bf1d';
  const raw = Object.fromEntries(parseFlatKeyed(fixture(`${memDir}/exp1/memory.stat`), 'x'));
  const kmemUnlimited = 9_223_372_036_854_771_712n;
  assert.deepEqual(withoutTimestamp(stat), {
    cpu: {
      usage: {
        total: 159_536_012_808n,
        percpu: [41_618_184_875n, 117_917_827_933n],
        // cpuacct.stat: user 15952 ticks, system 1 tick, at USER_HZ 100.
        kernel: 10_000_000n,
        user: 159_520_000_000n,
      },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    memory: {
      cache: 0n,
      usage: entry(67_108_864n, 442_368n, 2_785_280n),
      swap: entry(67_108_864n, 442_368n, 2_785_280n),
      kernel: entry(kmemUnlimited, 249_856n, 610_304n),
      kernelTCP: entry(kmemUnlimited, 0n),
      raw,
    },
    pids: { current: 1n, limit: 0n },
    blkio: emptyStat().blkio,
    // The unified cgroup has hugetlb disabled here, so none: runc says {} too.
    hugetlb: {},
  });
  assert.equal(raw['hierarchical_memory_limit'], 67_108_864n);
});

test('cpuacct.stat: USER_HZ ticks to ns with uint64 wrap, as runc', () => {
  assert.deepEqual(parseCpuacctStat('user 15952\nsystem 1\n'), {
    user: 159_520_000_000n,
    kernel: 10_000_000n,
  });
  const huge = MAX_UINT64;
  assert.equal(
    parseCpuacctStat(`user ${huge}\nsystem 0\n`).user,
    BigInt.asUintN(64, huge * 1_000_000_000n) / 100n,
  );
  assert.throws(() => parseCpuacctStat('system 1\nuser 2\n'), CgroupParseError);
  assert.throws(() => parseCpuacctStat('user -1\nsystem 2\n'), CgroupParseError);
  assert.deepEqual(parsePercpu('1 2 3 \n'), [1n, 2n, 3n]);
});

test('value parsing: max, negatives, malformed key-value lines', () => {
  assert.equal(parseParamUint('max\n', 'f'), MAX_UINT64);
  assert.equal(parseParamUint(' 42\n', 'f'), 42n);
  assert.equal(parseParamUint('-4096', 'f'), 0n, 'kernel bugs: negative reads as 0');
  assert.throws(() => parseParamUint('-0', 'f'), CgroupParseError);
  assert.throws(() => parseParamUint('18446744073709551616', 'f'), CgroupParseError);
  assert.throws(() => parseFlatKeyed('a 1\nb  2\n', 'f'), CgroupParseError);
  assert.throws(() => parseFlatKeyed('a 1\n\nb 2\n', 'f'), CgroupParseError);
  assert.deepEqual(
    [...parseFlatKeyed('a 1\r\nb 2', 'f')],
    [
      ['a', 1n],
      ['b', 2n],
    ],
  );
});

test('huge page size names, as runc derives them from /sys/kernel/mm/hugepages', () => {
  assert.equal(hugePageSizeName('hugepages-2048kB'), '2MB');
  assert.equal(hugePageSizeName('hugepages-1048576kB'), '1GB');
  assert.equal(hugePageSizeName('hugepages-64kB'), '64KB');
  assert.equal(hugePageSizeName('hugepages-32768kB'), '32MB');
  assert.equal(hugePageSizeName('hugepages-16777216kB'), '16GB');
  assert.equal(hugePageSizeName('README'), undefined);
});

test('blkio: runc order BFQ-debug, BFQ, CFQ, throttle recursive, throttle', () => {
  const read = (files: Record<string, string>) => {
    const stat = emptyStat();
    applyBlkioV1(memReader({ '/b': files }), '/b', stat);
    return stat.blkio;
  };
  const cfq = {
    'blkio.bfq.io_serviced_recursive': 'Total 0\n',
    'blkio.bfq.io_service_bytes_recursive': 'Total 0\n',
    'blkio.sectors_recursive': '8:0 6792\n',
    'blkio.io_service_time_recursive': '8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n',
    'blkio.io_wait_time_recursive': '8:0 Read 1\n',
    'blkio.io_merged_recursive': '8:0 Read 2\n',
    'blkio.io_queued_recursive': '8:0 Read 3\n',
    'blkio.time_recursive': '8:0 8\n',
    'blkio.io_serviced_recursive': '8:0 Read 124\n8:0 Write 104\nTotal 228\n',
    'blkio.io_service_bytes_recursive': '8:0 Read 1282048\n8:0 Write 2195456\n',
    'blkio.throttle.io_serviced_recursive': '8:0 Read 999\n',
  };
  const got = read(cfq);
  assert.deepEqual(got.sectorsRecursive, [{ major: 8n, minor: 0n, op: '', value: 6792n }]);
  assert.equal(got.ioServiceTimeRecursive.length, 3);
  assert.deepEqual(got.ioServicedRecursive[0], { major: 8n, minor: 0n, op: 'Read', value: 124n });
  assert.equal(got.ioServiceBytesRecursive[1]?.value, 2_195_456n);

  // Only the throttle files hold figures: the recursive ones win.
  const throttle = read({
    'blkio.throttle.io_serviced_recursive': '253:0 Read 5\n253:0 Write 6\n',
    'blkio.throttle.io_service_bytes_recursive': '253:0 Read 4096\n',
    'blkio.throttle.io_serviced': '253:0 Read 1\n',
  });
  assert.deepEqual(
    throttle.ioServicedRecursive.map((e) => e.value),
    [5n, 6n],
  );
  assert.deepEqual(
    throttle.ioServiceBytesRecursive.map((e) => e.value),
    [4096n],
  );
  assert.deepEqual(throttle.sectorsRecursive, []);

  // Recursive throttle files empty: fall back to this cgroup's own.
  const base = read({
    'blkio.throttle.io_serviced_recursive': 'Total 0\n',
    'blkio.throttle.io_serviced': '8:0 Read 7\n',
    'blkio.throttle.io_service_bytes': '8:0 Read 8\n',
  });
  assert.deepEqual(
    base.ioServicedRecursive.map((e) => e.value),
    [7n],
  );

  // A later file of the chosen group empty: runc stops, keeping what it has.
  const partial = read({
    'blkio.throttle.io_serviced_recursive': '8:0 Read 7\n',
    'blkio.throttle.io_service_bytes_recursive': 'Total 0\n',
    'blkio.throttle.io_service_bytes': '8:0 Read 8\n',
  });
  assert.deepEqual(
    partial.ioServicedRecursive.map((e) => e.value),
    [7n],
  );
  assert.deepEqual(partial.ioServiceBytesRecursive, []);

  // A malformed first file skips its group; a malformed later file fails.
  const skipped = read({
    'blkio.bfq.io_serviced_recursive': 'garbage\n',
    'blkio.throttle.io_serviced_recursive': '8:0 Read 7\n',
    'blkio.throttle.io_service_bytes_recursive': '8:0 Read 9\n',
  });
  assert.deepEqual(
    skipped.ioServiceBytesRecursive.map((e) => e.value),
    [9n],
  );
  assert.throws(
    () =>
      read({
        'blkio.throttle.io_serviced_recursive': '8:0 Read 7\n',
        'blkio.throttle.io_service_bytes_recursive': 'garbage\n',
      }),
    CgroupParseError,
  );
  assert.deepEqual(read({}), emptyStat().blkio);
});

test('io.stat: unknown keys and odd lines skipped, a repeated device replaced', () => {
  const got = parseIoStat(
    [
      '8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6 cost.usage=7',
      'junk',
      'nodev rbytes=9',
      '259:0 rbytes=10',
      '259:0 wbytes=11 bogus',
    ].join('\n'),
  );
  assert.deepEqual(got.ioServiceBytesRecursive, [
    { major: 8n, minor: 0n, op: 'Read', value: 1n },
    { major: 8n, minor: 0n, op: 'Write', value: 2n },
    { major: 259n, minor: 0n, op: 'Write', value: 11n },
  ]);
  assert.deepEqual(
    got.ioServicedRecursive.map((e) => [e.op, e.value]),
    [
      ['Read', 3n],
      ['Write', 4n],
    ],
  );
  assert.throws(() => parseIoStat('8:x rbytes=1'), CgroupParseError);
});

const v2Base = {
  'memory.stat': 'anon 1\nfile 2\n',
  'memory.current': '100\n',
  'memory.max': 'max\n',
  'pids.current': '2\n',
  'pids.max': 'max\n',
  'cpu.stat': 'usage_usec 1\nuser_usec 1\nsystem_usec 0\n',
};

test('v2 memory: swap is reported as memory+swap, with Go uint64 arithmetic', () => {
  const v2 = (files: Record<string, string>) =>
    readStatsV2(memReader({ '/c': { ...v2Base, ...files } }), '/c', []);
  // No swap accounting in the kernel: swap mirrors memory.
  assert.deepEqual(v2({}).memory.swap, entry(MAX_UINT64, 100n));
  // Unlimited swap stays unlimited.
  const unlimited = v2({ 'memory.swap.current': '5\n', 'memory.swap.max': 'max\n' });
  assert.deepEqual(unlimited.memory.swap, entry(MAX_UINT64, 105n));
  // A swap limit plus an unlimited memory.max wraps around, as in runc.
  const wrapped = v2({ 'memory.swap.current': '5\n', 'memory.swap.max': '1000\n' });
  assert.equal(wrapped.memory.swap.limit, 999n);
  assert.equal(wrapped.memory.usage.limit, MAX_UINT64);
  assert.equal(wrapped.memory.cache, 2n);
  // pids.max "max" is reported as 0.
  assert.deepEqual(wrapped.pids, { current: 2n, limit: 0n });
});

test('v2 without the pids controller: processes counted from cgroup.procs', () => {
  const files: Record<string, string> = { ...v2Base, 'cgroup.procs': '10\n11\n12\n' };
  delete files['pids.current'];
  delete files['pids.max'];
  const stat = readStatsV2(memReader({ '/c': files }), '/c', ['2MB']);
  assert.deepEqual(stat.pids, { current: 3n, limit: 0n });
  // hugetlb controller off too: no entries, no error.
  assert.deepEqual(stat.hugetlb, {});
});

test('hybrid hugetlb: from v1 when mounted there, else from the unified cgroup', () => {
  const tree = {
    '/u': {
      'hugetlb.1GB.current': '0\n',
      'hugetlb.1GB.events': 'max 0\n',
      'hugetlb.2MB.current': '2097152\n',
      'hugetlb.2MB.events': 'max 4\n',
    },
    '/h': {
      'hugetlb.2MB.usage_in_bytes': '4194304\n',
      'hugetlb.2MB.max_usage_in_bytes': '6291456\n',
      'hugetlb.2MB.failcnt': '1\n',
    },
  };
  const fromUnified = readStatsV1(memReader(tree), { version: 1, v1: new Map(), unified: '/u' }, [
    '1GB',
    '2MB',
  ]);
  assert.deepEqual(fromUnified.hugetlb, {
    '1GB': { usage: 0n, max: 0n, failcnt: 0n },
    '2MB': { usage: 2_097_152n, max: 0n, failcnt: 4n },
  });
  const fromV1 = readStatsV1(
    memReader(tree),
    { version: 1, v1: new Map([['hugetlb', '/h']]), unified: '/u' },
    ['2MB'],
  );
  assert.deepEqual(fromV1.hugetlb, { '2MB': { usage: 4_194_304n, max: 6_291_456n, failcnt: 1n } });
  // The v1 hierarchies decide existence: a missing unified cgroup is not an error.
  const noUnified = readStatsV1(memReader({}), { version: 1, v1: new Map(), unified: '/gone' }, [
    '2MB',
  ]);
  assert.deepEqual(noUnified.hugetlb, {});
});

test('v1 kmem: a kernel without memory.kmem.limit_in_bytes reads limit 0', () => {
  const files: Record<string, string> = {
    'memory.stat': 'cache 7\n',
    'memory.usage_in_bytes': '10\n',
    'memory.max_usage_in_bytes': '20\n',
    'memory.failcnt': '0\n',
    'memory.limit_in_bytes': '9223372036854771712\n',
    'memory.kmem.usage_in_bytes': '3\n',
    'memory.kmem.max_usage_in_bytes': '4\n',
    'memory.kmem.failcnt': '0\n',
  };
  const stat = readStatsV1(
    memReader({ '/m': files }),
    { version: 1, v1: new Map([['memory', '/m']]) },
    [],
  );
  assert.equal(stat.memory.cache, 7n);
  assert.deepEqual(stat.memory.usage, entry(9_223_372_036_854_771_712n, 10n, 20n));
  assert.deepEqual(stat.memory.kernel, entry(0n, 3n, 4n));
  assert.deepEqual(stat.memory.swap, zero, 'no swap accounting: zero, as runc');
  assert.deepEqual(stat.memory.kernelTCP, zero);
});

test('readCgroupFile: content, missing file, missing directory, large file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cg-'));
  try {
    writeFileSync(join(dir, 'a'), 'x 1\n');
    const big = 'k 1\n'.repeat(20_000);
    writeFileSync(join(dir, 'big'), big);
    assert.equal(readCgroupFile(dir, 'a'), 'x 1\n');
    assert.equal(readCgroupFile(dir, 'nope'), undefined);
    assert.equal(readCgroupFile(dir, 'big'), big);
    assert.throws(() => readCgroupFile(join(dir, 'gone'), 'a'), CgroupNotFoundError);
    const gone: CgroupPaths = { version: 1, v1: new Map([['memory', join(dir, 'gone')]]) };
    assert.throws(() => readStats(gone), CgroupNotFoundError);
    assert.throws(
      () => readStats({ version: 2, v1: new Map(), unified: join(dir, 'gone') }),
      CgroupNotFoundError,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
