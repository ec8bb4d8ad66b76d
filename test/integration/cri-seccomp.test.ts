/**
 * Seccomp profiles from a CRI security context on real runc (the busybox
 * bundle): RuntimeDefault lets a shell run and refuses what the docker
 * profile refuses without CAP_SYS_ADMIN (unshare of a user namespace, which
 * the kernel itself allows any process) with EPERM, where Unconfined lets
 * it through; a Localhost profile's own errno reaches the process.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LinuxContainerConfig,
  SecurityProfile_ProfileType as ProfileType,
} from '../../src/cri/generated/api.js';
import { applyLinuxContainerConfig } from '../../src/cri/container-linux.js';
import { sandbox, type Sandbox } from '../helpers/env.js';
import { busyboxSpec, runConfig } from '../helpers/run-config.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

type SecurityInput = NonNullable<
  NonNullable<Parameters<typeof LinuxContainerConfig.fromPartial>[0]>['securityContext']
>;

function spec(securityContext: SecurityInput) {
  return applyLinuxContainerConfig(
    busyboxSpec(),
    LinuxContainerConfig.fromPartial({ securityContext }),
    { sandboxPrivileged: false },
  );
}

const runtimeDefault = { seccomp: { profileType: ProfileType.RuntimeDefault } };

/**
 * The probe (a user namespace) needs a kernel that lets this process make
 * one: not so in a chroot (CLONE_NEWUSER is EPERM there for everyone, as in
 * fresh-run's CI), where the probe would prove nothing about the profile.
 */
const userNamespaces = spawnSync('unshare', ['-U', 'true']).status === 0;
const probe = userNamespaces
  ? {}
  : {
      skip: 'this host refuses user namespaces to every process (a chroot?): the unshare probe proves nothing here',
    };

test('RuntimeDefault: a shell runs, under a seccomp filter', async () => {
  const result = await runConfig(box, spec(runtimeDefault), [
    'sh',
    '-c',
    'echo ok; grep ^Seccomp: /proc/self/status',
  ]);
  assert.deepEqual(result, { status: 0, stdout: 'ok\nSeccomp:\t2\n', stderr: '' });
});

test('RuntimeDefault: unshare without CAP_SYS_ADMIN fails with EPERM', probe, async () => {
  const result = await runConfig(box, spec(runtimeDefault), ['unshare', '-U', 'true']);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /Operation not permitted/);
});

test('Unconfined: the same unshare succeeds (the refusal was the profile)', probe, async () => {
  const unconfined = spec({ seccomp: { profileType: ProfileType.Unconfined } });
  const result = await runConfig(box, unconfined, [
    'sh',
    '-c',
    'unshare -U true && echo unshared; grep ^Seccomp: /proc/self/status',
  ]);
  assert.deepEqual(result, { status: 0, stdout: 'unshared\nSeccomp:\t0\n', stderr: '' });
});

test('RuntimeDefault with CAP_SYS_ADMIN added: the profile opens unshare', probe, async () => {
  const admin = spec({ ...runtimeDefault, capabilities: { addCapabilities: ['SYS_ADMIN'] } });
  const result = await runConfig(box, admin, ['sh', '-c', 'unshare -U true && echo unshared']);
  assert.deepEqual(result, { status: 0, stdout: 'unshared\n', stderr: '' });
});

test("Localhost: the profile's errno for the syscall it denies", async () => {
  const profile = join(box.base, 'deny-mkdir.json');
  writeFileSync(
    profile,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    }),
  );
  const localhost = spec({
    seccomp: { profileType: ProfileType.Localhost, localhostRef: profile },
  });
  const result = await runConfig(box, localhost, [
    'sh',
    '-c',
    'touch /tmp/file && echo touched; mkdir /tmp/dir',
  ]);
  assert.equal(result.stdout, 'touched\n');
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /Permission denied/);
});
