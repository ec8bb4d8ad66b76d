/** Which cgroup folders a runtime makes for a container, derived as runc derives them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CgroupMount } from '../../src/runtime/cgroups/paths.js';
import { runtimeCgroupDirs } from '../../src/runtime/cgroups/runtime-cgroups.js';

const mounts: CgroupMount[] = [
  { fsType: 'cgroup', root: '/', mountPoint: '/sys/fs/cgroup/memory', options: ['rw', 'memory'] },
  {
    fsType: 'cgroup',
    root: '/',
    mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
    options: ['rw', 'cpu', 'cpuacct'],
  },
  { fsType: 'cgroup2', root: '/', mountPoint: '/sys/fs/cgroup/unified', options: ['rw'] },
  {
    fsType: 'cgroup',
    root: '/',
    mountPoint: '/sys/fs/cgroup/systemd',
    options: ['rw', 'xattr', 'name=systemd'],
  },
];
const own = '5:memory:/session\n3:cpu,cpuacct:/session\n1:name=systemd:/session\n0::/session\n';

test('no cgroupsPath: <own cgroup>/<id> in every hierarchy, named ones (runc joins them) too', () => {
  assert.deepEqual(runtimeCgroupDirs(undefined, 'web-1', { ownCgroupText: own, mounts }).sort(), [
    '/sys/fs/cgroup/cpu,cpuacct/session/web-1',
    '/sys/fs/cgroup/memory/session/web-1',
    '/sys/fs/cgroup/systemd/session/web-1',
    '/sys/fs/cgroup/unified/session/web-1',
  ]);
});

test('an absolute cgroupsPath is used as it is; a relative one under our own cgroup', () => {
  assert.deepEqual(
    runtimeCgroupDirs('/berth/../berth/web-1', 'x', { ownCgroupText: own, mounts }).sort(),
    [
      '/sys/fs/cgroup/cpu,cpuacct/berth/web-1',
      '/sys/fs/cgroup/memory/berth/web-1',
      '/sys/fs/cgroup/systemd/berth/web-1',
      '/sys/fs/cgroup/unified/berth/web-1',
    ],
  );
  assert.ok(
    runtimeCgroupDirs('jobs/a', 'x', { ownCgroupText: own, mounts }).includes(
      '/sys/fs/cgroup/memory/session/jobs/a',
    ),
  );
});

test('a relative path cannot climb out of our cgroup; systemd cleans up its own', () => {
  assert.ok(
    runtimeCgroupDirs('../../etc', 'x', { ownCgroupText: own, mounts }).includes(
      '/sys/fs/cgroup/memory/session/etc',
    ),
  );
  assert.deepEqual(
    runtimeCgroupDirs(undefined, 'x', { systemd: true, ownCgroupText: own, mounts }),
    [],
  );
});
