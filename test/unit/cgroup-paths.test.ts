import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CgroupNotFoundError } from '../../src/runtime/cgroups/errors.js';
import {
  cgroupMountsFromMountInfo,
  cgroupPathsForPid,
  hostCgroupMounts,
  parseProcCgroup,
  resetCgroupMountCache,
  resolveCgroupPaths,
} from '../../src/runtime/cgroups/paths.js';
import { parseMountInfo, unescapeMountField } from '../../src/runtime/procfs.js';

const fixture = (rel: string) =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/${rel}`, import.meta.url)), 'utf8');

test('mountinfo: optional fields, separator and octal escapes', () => {
  const entries = parseMountInfo(fixture('cgroup-v2/mountinfo'));
  const cg = entries.find((e) => e.mountPoint === '/sys/fs/cgroup');
  assert.deepEqual(cg, {
    mountId: 32,
    parentId: 22,
    root: '/',
    mountPoint: '/sys/fs/cgroup',
    fsType: 'cgroup2',
    source: 'cgroup2',
    superOptions: ['rw', 'nsdelegate', 'memory_recursiveprot'],
  });
  assert.ok(entries.some((e) => e.mountPoint === '/mnt/backup disk'));
  assert.equal(unescapeMountField('a\\134b\\011c'), 'a\\b\tc');
});

test('pure v2 host: one unified directory, no v1 controllers', () => {
  const mounts = cgroupMountsFromMountInfo(fixture('cgroup-v2/mountinfo'));
  assert.deepEqual(mounts, [
    {
      fsType: 'cgroup2',
      root: '/',
      mountPoint: '/sys/fs/cgroup',
      options: ['rw', 'nsdelegate', 'memory_recursiveprot'],
    },
  ]);
  const paths = resolveCgroupPaths(fixture('cgroup-v2/proc-pid-cgroup'), mounts);
  assert.deepEqual(paths, {
    version: 2,
    v1: new Map(),
    unified: '/sys/fs/cgroup/berth/web-1',
  });
});

test('hybrid host (these machines): separate v1 mounts, systemd ignored, unified kept', () => {
  const mounts = cgroupMountsFromMountInfo(fixture('cgroup-hybrid/mountinfo'));
  const paths = resolveCgroupPaths(fixture('cgroup-hybrid/proc-pid-cgroup'), mounts);
  assert.equal(paths.version, 1);
  assert.deepEqual(
    paths.v1,
    new Map([
      ['pids', '/sys/fs/cgroup/pids/exp1'],
      ['blkio', '/sys/fs/cgroup/blkio/exp1'],
      ['freezer', '/sys/fs/cgroup/freezer/exp1'],
      ['devices', '/sys/fs/cgroup/devices/exp1'],
      ['memory', '/sys/fs/cgroup/memory/process_api/68eca226aa9be2ed67db1a04d476bf1d/exp1'],
      ['cpuset', '/sys/fs/cgroup/cpuset/exp1'],
      ['cpuacct', '/sys/fs/cgroup/cpuacct/exp1'],
      ['cpu', '/sys/fs/cgroup/cpu/exp1'],
    ]),
  );
  assert.equal(paths.unified, '/sys/fs/cgroup/unified/exp1');
});

test('hybrid host with co-mounted controllers (Ubuntu 20.04, Docker)', () => {
  const id = '3f1d2e6c9b7a4d0e8f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e';
  const mounts = cgroupMountsFromMountInfo(fixture('cgroup-hybrid/ubuntu-mountinfo'));
  const paths = resolveCgroupPaths(fixture('cgroup-hybrid/ubuntu-proc-pid-cgroup'), mounts);
  assert.equal(paths.version, 1);
  assert.equal(paths.v1.get('cpu'), `/sys/fs/cgroup/cpu,cpuacct/docker/${id}`);
  assert.equal(paths.v1.get('cpuacct'), `/sys/fs/cgroup/cpu,cpuacct/docker/${id}`);
  assert.equal(paths.v1.get('net_cls'), `/sys/fs/cgroup/net_cls,net_prio/docker/${id}`);
  assert.equal(paths.v1.get('net_prio'), `/sys/fs/cgroup/net_cls,net_prio/docker/${id}`);
  assert.equal(paths.v1.get('hugetlb'), `/sys/fs/cgroup/hugetlb/docker/${id}`);
  assert.equal(paths.v1.get('rdma'), '/sys/fs/cgroup/rdma');
  assert.equal(paths.v1.has('name=systemd'), false);
  assert.equal(paths.v1.size, 13);
  assert.equal(paths.unified, '/sys/fs/cgroup/unified/system.slice/containerd.service');
});

test('pure v1 host without a cgroup2 mount: no unified directory', () => {
  const mountinfo = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  ].join('\n');
  const paths = resolveCgroupPaths(
    '4:memory:/c1\n1:name=systemd:/c1\n0::/c1\n',
    cgroupMountsFromMountInfo(mountinfo),
  );
  assert.deepEqual(paths, { version: 1, v1: new Map([['memory', '/sys/fs/cgroup/memory/c1']]) });
});

test('mounts of a subtree (cgroup namespace, bind mount) resolve relative to their root', () => {
  const mountinfo = [
    '40 30 0:27 /system.slice/berthd.service /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate',
    '41 30 0:32 /outer /mnt/memory rw - cgroup cgroup rw,memory',
  ].join('\n');
  const mounts = cgroupMountsFromMountInfo(mountinfo);
  assert.deepEqual(resolveCgroupPaths('0::/system.slice/berthd.service/c1\n', mounts), {
    version: 2,
    v1: new Map(),
    unified: '/sys/fs/cgroup/c1',
  });
  assert.equal(
    resolveCgroupPaths('0::/system.slice/berthd.service\n', mounts).unified,
    '/sys/fs/cgroup',
  );
  // Outside the mounted subtree: not reachable, so not reported.
  const v1 = resolveCgroupPaths('4:memory:/outer/c1\n0::/system.slice/berthd.service/c1\n', mounts);
  assert.equal(v1.v1.get('memory'), '/mnt/memory/c1');
  assert.throws(() => resolveCgroupPaths('0::/other/c1\n', mounts), /no mounted cgroup/);
  const elsewhere = resolveCgroupPaths(
    '4:memory:/outerx/c1\n0::/system.slice/berthd.service\n',
    mounts,
  );
  assert.equal(elsewhere.version, 2);
});

test('paths climbing out of the cgroup namespace are not followed', () => {
  const mounts = cgroupMountsFromMountInfo('32 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
  assert.throws(() => resolveCgroupPaths('0::/../../host.slice\n', mounts), /no mounted cgroup/);
});

test('a mount over a mount point hides the earlier one', () => {
  const mountinfo = [
    '32 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw',
    '50 22 0:40 / /sys/fs/cgroup rw - tmpfs tmpfs rw',
    '51 50 0:41 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
  ].join('\n');
  assert.deepEqual(cgroupMountsFromMountInfo(mountinfo), [
    { fsType: 'cgroup', root: '/', mountPoint: '/sys/fs/cgroup/pids', options: ['rw', 'pids'] },
  ]);
});

test('/proc/PID/cgroup: paths with colons, deleted cgroups, named hierarchies', () => {
  assert.deepEqual(parseProcCgroup('1:name=systemd:/a:b\n0::/x/y (deleted)\n'), [
    { hierarchyId: 1, controllers: ['name=systemd'], path: '/a:b' },
    { hierarchyId: 0, controllers: [], path: '/x/y' },
  ]);
});

test('cgroupPathsForPid on this host: every directory exists; mount table cached', () => {
  resetCgroupMountCache();
  const first = hostCgroupMounts();
  assert.equal(hostCgroupMounts(), first, 'cached between calls');
  const paths = cgroupPathsForPid(process.pid);
  for (const dir of paths.v1.values()) assert.ok(existsSync(dir), dir);
  if (paths.unified !== undefined) assert.ok(existsSync(paths.unified), paths.unified);
  if (paths.version === 1) assert.ok(paths.v1.has('memory'));
  else assert.ok(paths.unified);
  resetCgroupMountCache();
  assert.notEqual(hostCgroupMounts(), first, 'reset drops the cache');
});

test('cgroupPathsForPid of a process that does not exist', () => {
  assert.throws(
    () => cgroupPathsForPid(2 ** 31 - 1),
    (err: unknown) => err instanceof CgroupNotFoundError && err.code === 'ERR_CGROUP_NOT_FOUND',
  );
});
