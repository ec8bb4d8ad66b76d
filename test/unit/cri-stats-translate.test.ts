/**
 * The CRI stats' translation (containerd 1.6's rules): CPU rate from two
 * samples, working set and available memory on v1 and v2 memory.stat keys,
 * /proc/<pid>/net/dev, filters; and ExecSync's capped output buffer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyStat } from '../../src/runtime/cgroups/parse.js';
import type { CriContainerView } from '../../src/cri/container-lookup.js';
import { CappedBuffer } from '../../src/cri/exec-sync.js';
import type { PodRecord } from '../../src/cri/sandbox-store.js';
import {
  containerMatches,
  cpuUsage,
  memoryUsage,
  networkUsage,
  parseNetDev,
  podMatches,
  sumStats,
  UNLIMITED_MEMORY,
  workingSetBytes,
} from '../../src/cri/stats-translate.js';

const SECOND = 1_000_000_000n;

function cpuStat(totalNs: bigint) {
  const stat = emptyStat();
  stat.cpu.usage.total = totalNs;
  return stat;
}

test('cpu: a first sample has no rate; the next one is usage growth over elapsed time', () => {
  const first = cpuUsage(cpuStat(5n * SECOND), 100n * SECOND, undefined);
  assert.equal(first.usage.usageCoreNanoSeconds?.value, 5n * SECOND);
  assert.equal(first.usage.usageNanoCores?.value, 0n);
  assert.equal(first.usage.timestamp, 100n * SECOND);
  // 1.5 s of CPU in 2 s: 0.75 cores.
  const second = cpuUsage(cpuStat(6_500_000_000n), 102n * SECOND, first.sample);
  assert.equal(second.usage.usageNanoCores?.value, 750_000_000n);
  // Same instant again: the last rate, not a division by zero.
  const again = cpuUsage(cpuStat(6_500_000_000n), 102n * SECOND, second.sample);
  assert.equal(again.usage.usageNanoCores?.value, 750_000_000n);
  // Usage went down (a new cgroup under the id): start over at 0.
  const reset = cpuUsage(cpuStat(SECOND), 104n * SECOND, again.sample);
  assert.equal(reset.usage.usageNanoCores?.value, 0n);
});

test('memory on cgroup v1: total_* keys, working set = usage − inactive file, available = limit − working set', () => {
  const stat = emptyStat();
  stat.memory.usage.usage = 100_000_000n;
  stat.memory.usage.limit = 256n * 1024n * 1024n;
  stat.memory.raw = {
    inactive_file: 1n, // the cgroup's own, not its hierarchy's: not the one used
    total_inactive_file: 30_000_000n,
    total_rss: 50_000_000n,
    total_pgfault: 1234n,
    total_pgmajfault: 5n,
  };
  const memory = memoryUsage(stat, 7n);
  assert.equal(memory.timestamp, 7n);
  assert.equal(memory.usageBytes?.value, 100_000_000n);
  assert.equal(memory.workingSetBytes?.value, 70_000_000n);
  assert.equal(memory.availableBytes?.value, 256n * 1024n * 1024n - 70_000_000n);
  assert.equal(memory.rssBytes?.value, 50_000_000n);
  assert.equal(memory.pageFaults?.value, 1234n);
  assert.equal(memory.majorPageFaults?.value, 5n);
});

test('memory on cgroup v2 keys; an unlimited limit gives no available figure', () => {
  const stat = emptyStat();
  stat.memory.usage.usage = 10_000n;
  stat.memory.usage.limit = 0xffff_ffff_ffff_ffffn;
  stat.memory.raw = { inactive_file: 4_000n, anon: 3_000n, pgfault: 9n, pgmajfault: 1n };
  const memory = memoryUsage(stat, 0n);
  assert.equal(memory.workingSetBytes?.value, 6_000n);
  assert.equal(memory.availableBytes?.value, 0n);
  assert.equal(memory.rssBytes?.value, 3_000n);
  assert.equal(memory.pageFaults?.value, 9n);
  // v1's "unlimited" (PAGE_COUNTER_MAX pages) is beyond 2^62 too.
  stat.memory.usage.limit = 9_223_372_036_854_771_712n;
  assert.ok(stat.memory.usage.limit > UNLIMITED_MEMORY);
  assert.equal(memoryUsage(stat, 0n).availableBytes?.value, 0n);
});

test('working set never goes below zero', () => {
  assert.equal(workingSetBytes(100n, 200n), 0n);
  assert.equal(workingSetBytes(100n, 100n), 0n);
  assert.equal(workingSetBytes(100n, 40n), 60n);
});

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:    9034      61    3    0    0     0          0         0     2314      23    1    0    0     0       0          0
 net1: 18446744073709551615 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0
`;

test('/proc/<pid>/net/dev: rx/tx bytes and errors per interface, exact to uint64', () => {
  const counters = parseNetDev(NET_DEV);
  assert.deepEqual(
    counters.map((c) => c.name),
    ['lo', 'eth0', 'net1'],
  );
  assert.deepEqual(counters[1], {
    name: 'eth0',
    rxBytes: 9034n,
    rxErrors: 3n,
    txBytes: 2314n,
    txErrors: 1n,
  });
  assert.equal(counters[2]!.rxBytes, 18446744073709551615n);
  assert.deepEqual(parseNetDev('garbage\nx: 1 2 3\n'), []);
});

test('network usage: loopback left out, eth0 the default interface (else the first)', () => {
  const usage = networkUsage(parseNetDev(NET_DEV), 42n);
  assert.equal(usage.timestamp, 42n);
  assert.equal(usage.defaultInterface?.name, 'eth0');
  assert.equal(usage.defaultInterface?.rxBytes?.value, 9034n);
  assert.deepEqual(
    usage.interfaces.map((i) => i.name),
    ['eth0', 'net1'],
  );
  const noEth0 = networkUsage(
    parseNetDev(NET_DEV).filter((c) => c.name !== 'eth0'),
    0n,
  );
  assert.equal(noEth0.defaultInterface?.name, 'net1');
  assert.equal(networkUsage([], 0n).defaultInterface, undefined);
});

test('filters: id and pod by prefix, every selector label equal', () => {
  const view: CriContainerView = {
    id: 'abcdef'.padEnd(64, '0'),
    podSandboxId: '123456'.padEnd(64, '0'),
    metadata: { name: 'c', attempt: 0 },
    labels: { app: 'web', tier: 'front' },
    annotations: {},
    image: 'busybox',
    imageRef: 'sha256:x',
    state: 'running',
  };
  assert.equal(containerMatches(view, undefined), true);
  assert.equal(containerMatches(view, { id: 'abc', podSandboxId: '', labelSelector: {} }), true);
  assert.equal(containerMatches(view, { id: 'abd', podSandboxId: '', labelSelector: {} }), false);
  assert.equal(
    containerMatches(view, { id: '', podSandboxId: '1234', labelSelector: { app: 'web' } }),
    true,
  );
  assert.equal(
    containerMatches(view, { id: '', podSandboxId: '', labelSelector: { app: 'db' } }),
    false,
  );
  const record = { id: 'ff'.padEnd(64, '1'), labels: { app: 'web' } } as unknown as PodRecord;
  assert.equal(podMatches(record, { id: 'ff', labelSelector: { app: 'web' } }), true);
  assert.equal(podMatches(record, { id: '', labelSelector: { app: 'web', x: 'y' } }), false);
});

test('a pod without a cgroup parent: its cgroups added up, no limit', () => {
  const a = cpuStat(3n);
  a.memory.usage.usage = 10n;
  a.memory.usage.limit = 100n;
  a.memory.raw = { total_inactive_file: 2n, total_rss: 4n };
  a.pids.current = 1n;
  const b = cpuStat(4n);
  b.memory.usage.usage = 20n;
  b.memory.raw = { total_inactive_file: 3n, total_rss: 5n };
  b.pids.current = 2n;
  const sum = sumStats([a, b], new Date(0))!;
  assert.equal(sum.cpu.usage.total, 7n);
  assert.equal(sum.memory.usage.usage, 30n);
  assert.equal(sum.memory.usage.limit, 0n);
  assert.deepEqual(sum.memory.raw, { total_inactive_file: 5n, total_rss: 9n });
  assert.equal(sum.pids.current, 3n);
  assert.equal(memoryUsage(sum, 0n).workingSetBytes?.value, 25n);
  assert.equal(sumStats([], new Date()), undefined);
});

test('ExecSync’s buffer keeps up to its limit and takes the rest without keeping it', async () => {
  const buffer = new CappedBuffer(10);
  await new Promise<void>((resolve) => {
    buffer.write(Buffer.from('0123456'));
    buffer.write(Buffer.from('789abc'));
    buffer.end(Buffer.from('def'), resolve);
  });
  assert.equal(buffer.contents().toString(), '0123456789');
  assert.equal(buffer.dropped, 6);
});
