/**
 * A spec made by the CRI's Linux config and mount functions, run on real
 * runc (the busybox bundle): a read-only rootfs refuses a write, a dropped
 * capability refuses what it grants (and the default set allows it), the
 * user and groups asked for are the process's, the memory and cpu limits
 * are in the container's cgroup files, a bind mount and a device are there
 * as asked.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Device,
  LinuxContainerConfig,
  Mount,
  MountPropagation,
} from '../../src/cri/generated/api.js';
import { applyLinuxContainerConfig } from '../../src/cri/container-linux.js';
import { applyMounts } from '../../src/cri/container-mounts.js';
import { isMounted } from '../../src/index.js';
import { ensureRootfs } from '../../support/busybox.js';
import { sandbox, type Sandbox } from '../helpers/env.js';
import { busyboxSpec, runConfig } from '../helpers/run-config.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

type ConfigInput = NonNullable<Parameters<typeof LinuxContainerConfig.fromPartial>[0]>;

function spec(config: ConfigInput) {
  const rootfs = ensureRootfs();
  return applyLinuxContainerConfig(
    busyboxSpec(),
    // The busybox rootfs is shared by every test: never writable.
    LinuxContainerConfig.fromPartial({
      ...config,
      securityContext: { readonlyRootfs: true, ...config.securityContext },
    }),
    {
      sandboxPrivileged: false,
      passwd: readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8'),
      group: readFileSync(join(rootfs, 'etc', 'group'), 'utf8'),
    },
  );
}

test('readonly_rootfs: a write to the rootfs is refused', async () => {
  const result = await runConfig(box, spec({}), ['touch', '/written']);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /Read-only file system/);
});

test('the default capabilities allow chown; with CAP_CHOWN dropped it fails', async () => {
  const chown = ['sh', '-c', 'touch /tmp/f && chown 1234 /tmp/f && stat -c %u /tmp/f'];
  const allowed = await runConfig(box, spec({}), chown);
  assert.deepEqual(allowed, { status: 0, stdout: '1234\n', stderr: '' });
  const dropped = spec({ securityContext: { capabilities: { dropCapabilities: ['CHOWN'] } } });
  const refused = await runConfig(box, dropped, chown);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /Operation not permitted/);
});

test('run_as_user, run_as_group and supplemental groups are the process ids', async () => {
  const result = await runConfig(
    box,
    spec({
      securityContext: {
        runAsUser: { value: 1000n },
        runAsGroup: { value: 2000n },
        supplementalGroups: [3000n],
      },
    }),
    ['sh', '-c', 'id -u; id -g; id -G'],
  );
  assert.deepEqual(result, { status: 0, stdout: '1000\n2000\n2000 3000\n', stderr: '' });
});

test('memory and cpu limits are in the container cgroup files', async () => {
  const limited = spec({
    resources: {
      memoryLimitInBytes: 32n << 20n,
      cpuShares: 256n,
      cpuPeriod: 100000n,
      cpuQuota: 50000n,
    },
  });
  const result = await runConfig(box, limited, [
    'cat',
    '/sys/fs/cgroup/memory/memory.limit_in_bytes',
    '/sys/fs/cgroup/cpu/cpu.shares',
    '/sys/fs/cgroup/cpu/cpu.cfs_quota_us',
  ]);
  assert.deepEqual(result, { status: 0, stdout: `${32 << 20}\n256\n50000\n`, stderr: '' });
});

test('a read-only bind mount and a device from applyMounts', async () => {
  const source = join(box.base, 'volume');
  mkdirSync(source);
  writeFileSync(join(source, 'file'), 'from the host\n');
  const mounted = applyMounts(
    spec({}),
    [Mount.fromPartial({ containerPath: '/volume', hostPath: source, readonly: true })],
    [
      Device.fromPartial({
        hostPath: '/dev/null',
        containerPath: '/dev/mynull',
        permissions: 'rwm',
      }),
    ],
  );
  const result = await runConfig(box, mounted, [
    'sh',
    '-c',
    'cat /volume/file; echo x > /dev/mynull && echo device; touch /volume/new',
  ]);
  assert.equal(result.stdout, 'from the host\ndevice\n');
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /Read-only file system/);
});

test("privileged: every capability, the host's devices, mount allowed", async () => {
  const privileged = applyLinuxContainerConfig(
    busyboxSpec(),
    LinuxContainerConfig.fromPartial({
      securityContext: { privileged: true, readonlyRootfs: true },
    }),
    { sandboxPrivileged: true },
  );
  // Every capability berthd (here: the test) holds, which may be fewer than the kernel has.
  const held = /^CapBnd:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const result = await runConfig(box, privileged, [
    'sh',
    '-c',
    'grep ^CapEff: /proc/self/status; test -c /dev/null && test -e /dev/loop-control && echo devices; mkdir /tmp/m && mount -t tmpfs none /tmp/m && echo mounted',
  ]);
  assert.deepEqual(result, {
    status: 0,
    stdout: `CapEff:\t${held}\ndevices\nmounted\n`,
    stderr: '',
  });
});

test('a bidirectional mount: a mount made in the container shows on the host', async () => {
  const source = join(box.base, 'shared');
  mkdirSync(source);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'berth-test-shared', source]);
  try {
    execFileSync('mount', ['--make-shared', source]);
    const mounted = applyMounts(
      spec({ securityContext: { capabilities: { addCapabilities: ['SYS_ADMIN'] } } }),
      [
        Mount.fromPartial({
          containerPath: '/shared',
          hostPath: source,
          propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL,
        }),
      ],
      [],
    );
    assert.equal((mounted.linux as { rootfsPropagation?: string }).rootfsPropagation, 'rshared');
    const result = await runConfig(box, mounted, [
      'sh',
      '-c',
      'mkdir /shared/inner && mount -t tmpfs -o size=1m from-container /shared/inner && echo mounted',
    ]);
    assert.deepEqual(result, { status: 0, stdout: 'mounted\n', stderr: '' });
    assert.ok(isMounted(join(source, 'inner')), 'the container mount reached the host');
  } finally {
    execFileSync('umount', ['--recursive', '--lazy', source]);
  }
});
