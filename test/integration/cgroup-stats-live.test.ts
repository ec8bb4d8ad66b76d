/**
 * readStats against `runc events --stats` on a real, busy runc container.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlkioEntry, MemoryEntry, Stat } from '../../src/runtime/cgroups/types.js';
import { CgroupNotFoundError } from '../../src/runtime/cgroups/errors.js';
import { cgroupPathsForPid } from '../../src/runtime/cgroups/paths.js';
import { readCgroupFile, readStats } from '../../src/runtime/cgroups/stats.js';
import { tempDir, writeBundle } from '../../support/busybox.js';

const RUNC = '/usr/bin/runc';
const MEMORY_LIMIT = 64 * 1024 * 1024;

const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : !existsSync(RUNC)
      ? `${RUNC} missing`
      : !existsSync('/bin/busybox')
        ? '/bin/busybox missing'
        : false;

/** runc's JSON, every integer kept exact (uint64 counters exceed 2^53). */
type Json = string | Json[] | { [k: string]: Json | undefined };
function parseExact(text: string): Json {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d+)(?=\s*[,\]}])/g, '$1"$2"')) as Json;
}
const obj = (v: Json | undefined): Record<string, Json | undefined> =>
  v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : {};
// runc omits zero fields (omitempty): absent means 0.
const big = (v: Json | undefined): bigint => (typeof v === 'string' ? BigInt(v) : 0n);
const bigs = (v: Json | undefined): bigint[] => (Array.isArray(v) ? v.map(big) : []);

function runcEventsStats(id: string): Record<string, Json | undefined> {
  const out = execFileSync(RUNC, ['events', '--stats', id], { encoding: 'utf8' });
  return obj(obj(parseExact(out))['data']);
}

const blkioKey = (e: BlkioEntry) => `${e.major}:${e.minor} ${e.op} ${e.value}`;
function runcBlkio(v: Json | undefined): string[] {
  return (Array.isArray(v) ? v : [])
    .map((e) => {
      const o = obj(e);
      const op = typeof o['op'] === 'string' ? o['op'] : '';
      return `${big(o['major'])}:${big(o['minor'])} ${op} ${big(o['value'])}`;
    })
    .sort();
}

/** lo <= v <= hi, with a message naming the field. */
function between(name: string, lo: bigint, v: bigint, hi: bigint, slack = 0n): void {
  assert.ok(
    lo - slack <= v && v <= hi + slack,
    `${name}: ${v} not within [${lo}, ${hi}] ± ${slack}`,
  );
}

test('readStats equals runc events --stats on a busy container', { skip }, async () => {
  const dir = tempDir('berth-cgstats-');
  const id = `berth-cgstats-${process.pid}-${Date.now()}`;
  writeBundle(dir, {
    args: ['sh', '-c', 'while true; do :; done'],
    memoryLimit: MEMORY_LIMIT,
  });
  let paths: ReturnType<typeof cgroupPathsForPid> | undefined;
  try {
    execFileSync(RUNC, ['create', '--bundle', dir, id], { stdio: 'ignore' });
    execFileSync(RUNC, ['start', id], { stdio: 'ignore' });
    const state = obj(parseExact(execFileSync(RUNC, ['state', id], { encoding: 'utf8' })));
    const pid = Number(big(state['pid']));
    assert.ok(pid > 0);
    paths = cgroupPathsForPid(pid);
    await sleep(300);

    // Counters only grow, so runc's reading must fall between ours.
    const before = readStats(paths);
    const runc = runcEventsStats(id);
    const after = readStats(paths);

    // CPU.
    const rcpu = obj(obj(runc['cpu'])['usage']);
    const span = (name: string, get: (s: Stat) => bigint, v: Json | undefined) =>
      between(name, get(before), big(v), get(after));
    span('cpu.usage.total', (s) => s.cpu.usage.total, rcpu['total']);
    span('cpu.usage.user', (s) => s.cpu.usage.user, rcpu['user']);
    span('cpu.usage.kernel', (s) => s.cpu.usage.kernel, rcpu['kernel']);
    const rPercpu = bigs(rcpu['percpu']);
    assert.equal(before.cpu.usage.percpu.length, rPercpu.length, 'percpu length');
    rPercpu.forEach((v, i) =>
      between(`percpu[${i}]`, before.cpu.usage.percpu[i] ?? 0n, v, after.cpu.usage.percpu[i] ?? 0n),
    );
    const rthr = obj(obj(runc['cpu'])['throttling']);
    assert.equal(before.cpu.throttling.periods, big(rthr['periods']));
    assert.equal(before.cpu.throttling.throttledPeriods, big(rthr['throttledPeriods']));
    assert.equal(before.cpu.throttling.throttledTime, big(rthr['throttledTime']));

    // Memory: limits exact, monotonic figures bracketed, gauges within 1 MiB.
    const rmem = obj(runc['memory']);
    const mib = 1024n * 1024n;
    const entries = ['usage', 'swap', 'kernel', 'kernelTCP'] as const;
    for (const name of entries) {
      const r = obj(rmem[name]);
      const b: MemoryEntry = before.memory[name];
      const a: MemoryEntry = after.memory[name];
      assert.equal(b.limit, big(r['limit']), `memory.${name}.limit`);
      between(`memory.${name}.max`, b.max, big(r['max']), a.max);
      between(`memory.${name}.failcnt`, b.failcnt, big(r['failcnt']), a.failcnt);
      between(`memory.${name}.usage`, b.usage, big(r['usage']), a.usage, mib);
    }
    assert.equal(before.memory.usage.limit, BigInt(MEMORY_LIMIT));
    between('memory.cache', before.memory.cache, big(rmem['cache']), after.memory.cache, mib);
    const rraw = obj(rmem['raw']);
    assert.deepEqual(Object.keys(before.memory.raw).sort(), Object.keys(rraw).sort());
    for (const [k, v] of Object.entries(rraw)) {
      const b = before.memory.raw[k] ?? 0n;
      const a = after.memory.raw[k] ?? 0n;
      if (k.startsWith('hierarchical_')) assert.equal(b, big(v), `memory.raw.${k}`);
      else if (/pg(maj)?fault|pgpg(in|out)/.test(k)) between(`memory.raw.${k}`, b, big(v), a);
      else between(`memory.raw.${k}`, b < a ? b : a, big(v), b < a ? a : b, mib);
    }

    // Pids: a shell busy on a builtin never forks.
    const rpids = obj(runc['pids']);
    assert.equal(before.pids.current, big(rpids['current']));
    assert.equal(before.pids.limit, big(rpids['limit']));

    // Blkio, every list (runc omits empty ones).
    const rblkio = obj(runc['blkio']);
    const lists = {
      ioServiceBytesRecursive: 'ioServiceBytesRecursive',
      ioServicedRecursive: 'ioServicedRecursive',
      ioQueuedRecursive: 'ioQueueRecursive',
      ioServiceTimeRecursive: 'ioServiceTimeRecursive',
      ioWaitTimeRecursive: 'ioWaitTimeRecursive',
      ioMergedRecursive: 'ioMergedRecursive',
      ioTimeRecursive: 'ioTimeRecursive',
      sectorsRecursive: 'sectorsRecursive',
    } as const;
    for (const [ours, theirs] of Object.entries(lists)) {
      const mine = before.blkio[ours as keyof typeof lists].map(blkioKey).sort();
      assert.deepEqual(mine, runcBlkio(rblkio[theirs]), `blkio.${ours}`);
    }

    // Hugetlb: runc 1.1.5 reads it only from a v1 hugetlb hierarchy. On a
    // hybrid host we also read the unified cgroup, which differs only if
    // that cgroup has the hugetlb controller enabled.
    const rhuge = obj(runc['hugetlb']);
    const unifiedHugetlb =
      paths.version === 1 &&
      !paths.v1.has('hugetlb') &&
      paths.unified !== undefined &&
      (readCgroupFile(paths.unified, 'cgroup.controllers') ?? '').split(/\s+/).includes('hugetlb');
    if (!unifiedHugetlb) {
      assert.deepEqual(Object.keys(before.hugetlb).sort(), Object.keys(rhuge).sort());
      for (const [size, v] of Object.entries(rhuge)) {
        const h = before.hugetlb[size];
        assert.ok(h);
        assert.equal(h.max, big(obj(v)['max']), `hugetlb.${size}.max`);
        assert.equal(h.usage, big(obj(v)['usage']), `hugetlb.${size}.usage`);
        assert.equal(h.failcnt, big(obj(v)['failcnt']), `hugetlb.${size}.failcnt`);
      }
    }

    // A busy loop keeps burning CPU between two reads.
    await sleep(100);
    const later = readStats(paths);
    assert.ok(later.cpu.usage.total > after.cpu.usage.total, 'cpu total grows');
    assert.ok(later.timestamp.getTime() >= before.timestamp.getTime());
  } finally {
    execFileSync(RUNC, ['delete', '-f', id], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
  const deleted = paths;
  assert.ok(deleted);
  assert.throws(
    () => readStats(deleted),
    (err: unknown) => err instanceof CgroupNotFoundError && err.code === 'ERR_CGROUP_NOT_FOUND',
  );
});
