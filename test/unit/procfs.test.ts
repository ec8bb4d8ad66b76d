/** /proc parsing and USER_HZ: one home, the runtime's procfs (src/runtime/procfs.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  USER_HZ,
  bootTimeMs,
  parseMountInfo,
  processStartFromStat,
  procStatFields,
  readProcessStartMs,
  readSystemCpuUsageNs,
  systemCpuUsageNs,
} from '../../src/runtime/procfs.js';
import { parseCpuacctStat } from '../../src/runtime/cgroups/stats-v1.js';
import { mountPoints } from '../../src/runtime/rootfs.js';

const PROC_STAT = [
  'cpu  100 2 30 4000 5 6 7 8 0 0',
  'cpu0 50 1 15 2000 2 3 3 4 0 0',
  'intr 1 2 3',
  'btime 1714550000',
  'processes 42',
].join('\n');

test('USER_HZ is 100, and cpuacct.stat counts in it', () => {
  assert.equal(USER_HZ, 100);
  assert.deepEqual(parseCpuacctStat('user 3\nsystem 250\n'), {
    user: 30_000_000n,
    kernel: 2_500_000_000n,
  });
});

test('host CPU time: the first seven fields of the cpu line, in ns', () => {
  // (100+2+30+4000+5+6+7) ticks of 1/100 s.
  assert.equal(systemCpuUsageNs(PROC_STAT), 4150n * 10_000_000n);
});

for (const text of ['intr 1\n', 'cpu 1 2 3\n', 'cpu 1 2 3 4 5 6 x\n', '']) {
  test(`host CPU time: none from ${JSON.stringify(text)}`, () => {
    assert.equal(systemCpuUsageNs(text), undefined);
  });
}

test("host CPU time now: this host's, growing", () => {
  const first = readSystemCpuUsageNs();
  assert.ok(first > 0n);
  const spin = Date.now() + 30;
  while (Date.now() < spin);
  assert.ok(readSystemCpuUsageNs() >= first);
});

test('boot time from btime, in ms; none without the line', () => {
  assert.equal(bootTimeMs(PROC_STAT), 1_714_550_000_000);
  assert.equal(bootTimeMs('cpu 1 2 3\n'), undefined);
  assert.equal(bootTimeMs('btime soon\n'), undefined);
});

test('a /proc/PID/stat line whose command holds spaces and parentheses', () => {
  const stat = '4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 123456 0 0';
  const fields = procStatFields(stat);
  assert.equal(fields[0], 'S'); // field 3, state
  assert.equal(fields[22 - 3], '123456'); // field 22, starttime
  // 123456 ticks after boot, 100 a second.
  assert.equal(processStartFromStat(stat, 1_000_000), 1_000_000 + 1_234_560);
});

test("this process's start: after boot, before now, as /proc/self/stat and btime say", () => {
  const started = readProcessStartMs(process.pid);
  assert.ok(started !== undefined);
  const boot = bootTimeMs(readFileSync('/proc/stat', 'utf8'))!;
  assert.ok(started >= boot && started <= Date.now() + 10, String(started));
  // Node's own clock agrees to within a tick and a second of btime's rounding.
  const byNode = Date.now() - process.uptime() * 1000;
  assert.ok(Math.abs(started - byNode) < 2_000, `${started} vs ${byNode}`);
});

for (const pid of [0, -1, 1.5, 2 ** 22 + 1]) {
  test(`no start time for pid ${pid}`, () => assert.equal(readProcessStartMs(pid), undefined));
}

test("mount points: this namespace's, as mountinfo writes them unescaped", () => {
  const entries = parseMountInfo(
    [
      '22 1 0:21 / /proc rw,nosuid - proc proc rw',
      '90 22 0:50 / /run/a\\040b rw shared:5 master:1 - tmpfs none rw,size=64k',
      'not a mountinfo line',
    ].join('\n'),
  );
  assert.deepEqual(
    entries.map((e) => [e.mountPoint, e.fsType, e.source, e.superOptions]),
    [
      ['/proc', 'proc', 'proc', ['rw']],
      ['/run/a b', 'tmpfs', 'none', ['rw', 'size=64k']],
    ],
  );
  assert.ok(mountPoints().includes('/proc'));
});
