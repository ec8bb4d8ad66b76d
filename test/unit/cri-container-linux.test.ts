/**
 * A CRI container's Linux config into the OCI spec, without running
 * anything: privileged, capabilities, the user, read-only rootfs, no new
 * privileges, masked paths, seccomp (every form), resources, the update's
 * Resource; every refusal a typed error that the CRI maps to
 * INVALID_ARGUMENT. Host facts are given, so the results do not depend on
 * this machine's cgroups.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import {
  LinuxContainerConfig,
  LinuxContainerResources,
  SecurityProfile_ProfileType as ProfileType,
} from '../../src/cri/generated/api.js';
import {
  ALL_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  applyLinuxContainerConfig,
  boundingCapabilities,
  linuxResourcesToUpdate,
  type LinuxHostFacts,
  type LinuxSpecContext,
  type Spec,
} from '../../src/cri/container-linux.js';
import {
  CONTAINER_CONFIG_ERROR_CODES,
  InvalidContainerConfigError,
  PrivilegedNotAllowedError,
  SeccompProfileError,
} from '../../src/cri/container-config-errors.js';
import { criStatusFromError } from '../../src/cri/pod-errors.js';
import { defaultSeccompProfile, type LinuxSeccomp } from '../../src/cri/seccomp-default.js';
import { DOCKER_CAPABILITIES } from '../../src/images/bundle.js';
import { defaultBundleConfig } from '../../src/runtime/index.js';

type ConfigInput = NonNullable<Parameters<typeof LinuxContainerConfig.fromPartial>[0]>;
type SecurityInput = NonNullable<ConfigInput['securityContext']>;
type ResourcesInput = NonNullable<ConfigInput['resources']>;

const V1: LinuxHostFacts = {
  cgroupVersion: 1,
  hugetlb: false,
  swapController: true,
  capabilities: ALL_CAPABILITIES,
};
const V2: LinuxHostFacts = {
  cgroupVersion: 2,
  hugetlb: true,
  swapController: false,
  capabilities: ALL_CAPABILITIES,
};
/** A daemon without CAP_SYS_RESOURCE, as on a host that withholds it. */
const HELD = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n';
const GROUP = 'root:x:0:\nalice:x:1000:\nstaff:x:50:alice,bob\naudio:x:29:alice\nother:x:77:bob\n';

const dir = mkdtempSync(join(tmpdir(), 'berth-cri-linux-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function base(): Spec {
  return defaultBundleConfig('/rootfs');
}

function ctx(extra: Partial<LinuxSpecContext> = {}): LinuxSpecContext {
  return {
    sandboxPrivileged: false,
    passwd: PASSWD,
    group: GROUP,
    host: V1,
    hostDevices: () => [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600 }],
    ...extra,
  };
}

function apply(security: SecurityInput = {}, extra: Partial<LinuxSpecContext> = {}): Spec {
  return applyLinuxContainerConfig(
    base(),
    LinuxContainerConfig.fromPartial({ securityContext: security }),
    ctx(extra),
  );
}

function withResources(resources: ResourcesInput, extra: Partial<LinuxSpecContext> = {}): Spec {
  return applyLinuxContainerConfig(
    base(),
    LinuxContainerConfig.fromPartial({ resources }),
    ctx(extra),
  );
}

const caps = (spec: Spec) => spec.process.capabilities!;
const linux = (spec: Spec) => spec.linux as Record<string, unknown>;
const resources = (spec: Spec) => linux(spec).resources as Record<string, unknown>;
const seccomp = (spec: Spec) => linux(spec).seccomp as LinuxSeccomp | undefined;
const allowed = (profile: LinuxSeccomp) =>
  new Set(
    profile
      .syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args)
      .flatMap((s) => s.names),
  );

function assertInvalid(
  fn: () => unknown,
  pattern: RegExp,
  type: abstract new (...args: never[]) => Error = InvalidContainerConfigError,
) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    assert.equal(criStatusFromError(err).code, status.INVALID_ARGUMENT);
    return true;
  });
}

function profileFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

test('no Linux config: docker caps, default masked paths, root, writable rootfs, no seccomp; input untouched', () => {
  const input = base();
  const before = structuredClone(input);
  const spec = applyLinuxContainerConfig(input, undefined, ctx());
  assert.deepEqual(input, before);
  assert.deepEqual(caps(spec).bounding, [...DOCKER_CAPABILITIES]);
  assert.deepEqual(caps(spec).ambient, []);
  assert.deepEqual(linux(spec).maskedPaths, [...DEFAULT_MASKED_PATHS]);
  assert.deepEqual(linux(spec).readonlyPaths, [...DEFAULT_READONLY_PATHS]);
  assert.deepEqual(spec.process.user, { uid: 0, gid: 0, additionalGids: [0] });
  assert.equal(spec.root?.readonly, false);
  assert.equal(spec.root?.path, '/rootfs');
  assert.equal(spec.process.noNewPrivileges, false);
  assert.equal(seccomp(spec), undefined);
});

test('privileged in a pod that is not: PrivilegedNotAllowedError', () => {
  assertInvalid(() => apply({ privileged: true }), /not privileged/, PrivilegedNotAllowedError);
});

test('privileged: all caps, host devices all allowed, no masked paths, no seccomp, writable /sys', () => {
  const spec = apply(
    { privileged: true, seccomp: { profileType: ProfileType.RuntimeDefault } },
    { sandboxPrivileged: true, host: { ...V1, capabilities: HELD } },
  );
  assert.deepEqual(caps(spec).bounding, HELD);
  assert.deepEqual(caps(spec).effective, HELD);
  assert.equal(linux(spec).maskedPaths, undefined);
  assert.equal(linux(spec).readonlyPaths, undefined);
  assert.equal(seccomp(spec), undefined);
  assert.deepEqual(resources(spec).devices, [{ allow: true, access: 'rwm' }]);
  assert.deepEqual(
    (linux(spec).devices as Array<{ path: string }>).map((d) => d.path),
    ['/dev/fuse'],
  );
  const sysfs = (spec.mounts as Array<{ type: string; options: string[] }>).find(
    (m) => m.type === 'sysfs',
  );
  assert.ok(sysfs && !sysfs.options.includes('ro'));
});

test('capabilities: named adds and drops, any case, with or without CAP_', () => {
  const spec = apply({
    capabilities: {
      addCapabilities: ['net_admin', 'CAP_SYS_TIME'],
      dropCapabilities: ['chown', 'Cap_Kill'],
    },
  });
  const expected = [
    ...DOCKER_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_KILL'),
    'CAP_NET_ADMIN',
    'CAP_SYS_TIME',
  ];
  assert.deepEqual(caps(spec).bounding, expected);
  assert.deepEqual(caps(spec).permitted, expected);
  assert.deepEqual(caps(spec).inheritable, []);
});

test('capabilities: add ALL then drop one is all but that one', () => {
  const spec = apply({ capabilities: { addCapabilities: ['ALL'], dropCapabilities: ['CHOWN'] } });
  assert.deepEqual(
    caps(spec).bounding,
    ALL_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'),
  );
});

test('capabilities: drop ALL then add one is that one only', () => {
  const spec = apply({
    capabilities: { addCapabilities: ['NET_BIND_SERVICE'], dropCapabilities: ['all'] },
  });
  assert.deepEqual(caps(spec).bounding, ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(caps(spec).effective, ['CAP_NET_BIND_SERVICE']);
});

test('capabilities: an unknown name is refused', () => {
  assertInvalid(
    () => apply({ capabilities: { addCapabilities: ['FLY'] } }),
    /unknown capability "FLY" in add_capabilities/,
  );
});

test('capabilities: one berthd does not hold is refused, naming it', () => {
  assertInvalid(
    () =>
      apply(
        { capabilities: { addCapabilities: ['SYS_RESOURCE'] } },
        { host: { ...V1, capabilities: HELD } },
      ),
    /CAP_SYS_RESOURCE cannot be given: berthd does not hold it/,
  );
});

test('boundingCapabilities: the CapBnd mask of a status file', () => {
  const status = 'Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t0000000000200021\n';
  assert.deepEqual(boundingCapabilities(status), ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN']);
  assert.ok(boundingCapabilities().includes('CAP_CHOWN'), "this process's own");
});

test('capabilities: ambient ones are in every set, inheritable included', () => {
  const spec = apply({ capabilities: { addAmbientCapabilities: ['NET_RAW', 'SYS_NICE'] } });
  assert.deepEqual(caps(spec).ambient, ['CAP_NET_RAW', 'CAP_SYS_NICE']);
  assert.deepEqual(caps(spec).inheritable, ['CAP_NET_RAW', 'CAP_SYS_NICE']);
  assert.ok(caps(spec).bounding!.includes('CAP_SYS_NICE'));
  assert.ok(caps(spec).permitted!.includes('CAP_SYS_NICE'));
});

test('run_as_user: uid and gid from passwd, the groups listing the user, sorted', () => {
  const spec = apply({ runAsUser: { value: 1000n } });
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [29, 50, 1000] });
});

test('run_as_user unknown to passwd: that uid, gid 0', () => {
  const spec = apply({ runAsUser: { value: 4242n } });
  assert.deepEqual(spec.process.user, { uid: 4242, gid: 0, additionalGids: [0] });
});

test('run_as_username resolves through passwd; an unknown name is refused', () => {
  assert.deepEqual(apply({ runAsUsername: 'alice' }).process.user?.uid, 1000);
  assertInvalid(() => apply({ runAsUsername: 'mallory' }), /cannot run as "mallory"/);
});

test('run_as_group with run_as_user, and supplemental groups merged', () => {
  const spec = apply({
    runAsUser: { value: 1000n },
    runAsGroup: { value: 3000n },
    supplementalGroups: [5000n, 29n],
  });
  assert.deepEqual(spec.process.user, {
    uid: 1000,
    gid: 3000,
    additionalGids: [29, 50, 3000, 5000],
  });
});

test('run_as_group without a user is refused', () => {
  assertInvalid(() => apply({ runAsGroup: { value: 3000n } }), /without run_as_user/);
});

test("the image's User when the security context names none", () => {
  const spec = apply({}, { imageUser: 'alice:staff' });
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 50, additionalGids: [29, 50] });
});

test('ids out of range are refused', () => {
  assertInvalid(() => apply({ runAsUser: { value: -1n } }), /run_as_user -1 is out of range/);
  assertInvalid(
    () => apply({ runAsUser: { value: 0n }, supplementalGroups: [1n << 32n] }),
    /supplemental group/,
  );
});

test('readonly_rootfs and no_new_privs', () => {
  const spec = apply({ readonlyRootfs: true, noNewPrivs: true });
  assert.equal(spec.root?.readonly, true);
  assert.equal(spec.process.noNewPrivileges, true);
});

test('masked and read-only paths given replace the defaults; relative ones are refused', () => {
  const spec = apply({ maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'] });
  assert.deepEqual(linux(spec).maskedPaths, ['/proc/kcore']);
  assert.deepEqual(linux(spec).readonlyPaths, ['/proc/sys']);
  assertInvalid(() => apply({ maskedPaths: ['proc/kcore'] }), /masked_paths must be absolute/);
});

test('seccomp RuntimeDefault: the default profile for the container capabilities', () => {
  const plain = seccomp(apply({ seccomp: { profileType: ProfileType.RuntimeDefault } }))!;
  assert.equal(plain.defaultAction, 'SCMP_ACT_ERRNO');
  assert.ok(allowed(plain).has('read'));
  assert.ok(!allowed(plain).has('unshare'));
  assert.ok(allowed(plain).has('chroot'), 'CAP_SYS_CHROOT is in the docker set');
  const admin = seccomp(
    apply({
      seccomp: { profileType: ProfileType.RuntimeDefault },
      capabilities: { addCapabilities: ['SYS_ADMIN'] },
    }),
  )!;
  assert.ok(allowed(admin).has('unshare'));
  assert.ok(
    !admin.syscalls!.some((s) => s.names.includes('clone3') && s.action === 'SCMP_ACT_ERRNO'),
  );
});

test('seccomp Unconfined, or nothing asked: no profile', () => {
  assert.equal(seccomp(apply({ seccomp: { profileType: ProfileType.Unconfined } })), undefined);
  assert.equal(seccomp(apply({})), undefined);
});

test('seccomp_profile_path: runtime/default, docker/default, unconfined, localhost/, and a bad one', () => {
  const path = profileFile('deny-mkdir.json', {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
  });
  for (const form of ['runtime/default', 'docker/default'])
    assert.equal(seccomp(apply({ seccompProfilePath: form }))?.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(seccomp(apply({ seccompProfilePath: 'unconfined' })), undefined);
  assert.deepEqual(seccomp(apply({ seccompProfilePath: `localhost/${path}` })), {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
  });
  assertInvalid(() => apply({ seccompProfilePath: 'strict' }), /invalid seccomp profile "strict"/);
});

test('seccomp: localhost_ref with another profile type is refused', () => {
  assertInvalid(
    () => apply({ seccomp: { profileType: ProfileType.RuntimeDefault, localhostRef: '/x.json' } }),
    /only be set when the profile type is Localhost/,
  );
});

test('seccomp Localhost: the OCI form as written, unknown fields left out', () => {
  const path = profileFile('oci.json', {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', comment: 'x' },
      {
        names: ['personality'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }],
      },
    ],
    somethingElse: true,
  });
  assert.deepEqual(
    seccomp(apply({ seccomp: { profileType: ProfileType.Localhost, localhostRef: path } })),
    {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        {
          names: ['personality'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }],
        },
      ],
    },
  );
});

test("seccomp Localhost: docker's form (archMap, one name per rule)", () => {
  const path = profileFile('docker.json', {
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    ],
    syscalls: [{ name: 'read', action: 'SCMP_ACT_ALLOW' }],
  });
  const profile = seccomp(
    apply(
      { seccomp: { profileType: ProfileType.Localhost, localhostRef: path } },
      { arch: 'arm64' },
    ),
  );
  assert.deepEqual(profile?.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.deepEqual(profile?.syscalls, [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }]);
});

test('seccomp Localhost: missing, not JSON, or not a profile: SeccompProfileError naming the file', () => {
  const localhost = (localhostRef: string) => () =>
    apply({ seccomp: { profileType: ProfileType.Localhost, localhostRef } });
  assertInvalid(localhost(join(dir, 'absent.json')), /absent\.json.*ENOENT/, SeccompProfileError);
  assertInvalid(
    localhost(profileFile('bad.json', '{"defaultAction":')),
    /not JSON/,
    SeccompProfileError,
  );
  assertInvalid(
    localhost(profileFile('noaction.json', { syscalls: [] })),
    /defaultAction must be/,
    SeccompProfileError,
  );
  assertInvalid(
    localhost(
      profileFile('badop.json', {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 1, op: 'EQ' }] },
        ],
      }),
    ),
    /args\[0\] needs an index/,
    SeccompProfileError,
  );
  assertInvalid(
    localhost(
      profileFile('huge.json', {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          {
            names: ['read'],
            action: 'SCMP_ACT_ERRNO',
            args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }],
          },
        ],
      }),
    ),
    /args\[0\] needs an index/,
    SeccompProfileError,
  );
});

test('seccomp Localhost: a relative path is refused', () => {
  assertInvalid(
    () =>
      apply({ seccomp: { profileType: ProfileType.Localhost, localhostRef: 'profiles/x.json' } }),
    /must be an absolute path/,
  );
});

test('apparmor and selinux options are accepted and ignored', () => {
  const spec = apply({
    apparmor: { profileType: ProfileType.Localhost, localhostRef: 'my-profile' },
    apparmorProfile: 'runtime/default',
    selinuxOptions: { user: 'u', role: 'r', type: 't', level: 's0' },
  });
  assert.equal(spec.process.apparmorProfile, undefined);
  assert.equal(spec.process.selinuxLabel, undefined);
});

test('resources: cpu, cpuset, memory with swap equal to it, oom_score_adj', () => {
  const spec = withResources({
    cpuPeriod: 100000n,
    cpuQuota: 50000n,
    cpuShares: 512n,
    cpusetCpus: '0-1',
    cpusetMems: '0',
    memoryLimitInBytes: 64n << 20n,
    oomScoreAdj: 500n,
  });
  assert.deepEqual(resources(spec).cpu, {
    period: 100000,
    quota: 50000,
    shares: 512,
    cpus: '0-1',
    mems: '0',
  });
  assert.deepEqual(resources(spec).memory, { limit: 64 << 20, swap: 64 << 20 });
  assert.equal(spec.process.oomScoreAdj, 500);
  assert.deepEqual(resources(spec).devices, [{ allow: false, access: 'rwm' }], 'kept');
});

test('resources: zeros are "not set"; an explicit swap limit is kept', () => {
  const spec = withResources({ memoryLimitInBytes: 1n << 30n, memorySwapLimitInBytes: 2n << 30n });
  assert.equal(resources(spec).cpu, undefined);
  assert.deepEqual(resources(spec).memory, { limit: 1 << 30, swap: 2 * (1 << 30) });
  assert.equal(spec.process.oomScoreAdj, 0);
});

test('resources: a swap limit without a swap controller is skipped with a warning', () => {
  const warnings: string[] = [];
  const spec = withResources(
    { memoryLimitInBytes: 1n << 30n, memorySwapLimitInBytes: 2n << 30n },
    { host: V2, warn: (m) => warnings.push(m) },
  );
  assert.deepEqual(resources(spec).memory, { limit: 1 << 30 });
  assert.match(warnings.join('\n'), /no swap controller/);
});

test('resources: swap below the memory limit is refused', () => {
  assertInvalid(
    () => withResources({ memoryLimitInBytes: 2n << 30n, memorySwapLimitInBytes: 1n << 30n }),
    /memory_swap_limit_in_bytes .* is below/,
  );
});

test('resources: hugepage limits with a hugetlb controller; skipped with a warning without', () => {
  const hugepageLimits = [{ pageSize: '2MB', limit: 4n << 20n }];
  assert.deepEqual(resources(withResources({ hugepageLimits }, { host: V2 })).hugepageLimits, [
    { pageSize: '2MB', limit: 4 << 20 },
  ]);
  const warnings: string[] = [];
  const spec = withResources({ hugepageLimits }, { warn: (m) => warnings.push(m) });
  assert.equal(resources(spec).hugepageLimits, undefined);
  assert.match(warnings.join('\n'), /hugetlb/);
  assertInvalid(
    () => withResources({ hugepageLimits: [{ pageSize: '2M', limit: 1n }] }, { host: V2 }),
    /invalid hugepage size "2M"/,
  );
});

test('resources: unified on cgroup v2; skipped with a warning on v1', () => {
  const unified = { 'memory.high': '1073741824', 'hugetlb.2MB.max': '4194304' };
  assert.deepEqual(resources(withResources({ unified }, { host: V2 })).unified, unified);
  const warnings: string[] = [];
  const spec = withResources({ unified }, { warn: (m) => warnings.push(m) });
  assert.equal(resources(spec).unified, undefined);
  assert.match(warnings.join('\n'), /cgroup v2/);
  assertInvalid(
    () => withResources({ unified: { '../x': '1' } }, { host: V2 }),
    /unified cgroup entry/,
  );
});

test('resources: values out of range are refused', () => {
  assertInvalid(() => withResources({ cpuShares: -2n }), /cpu_shares -2 is out of range/);
  assertInvalid(() => withResources({ cpuQuota: -5n }), /cpu_quota -5/);
  assertInvalid(() => withResources({ oomScoreAdj: 1001n }), /oom_score_adj 1001/);
  assertInvalid(() => withResources({ cpusetCpus: '0-a' }), /cpuset_cpus must be a list/);
  assertInvalid(() => withResources({ memoryLimitInBytes: 1n << 60n }), /memory_limit_in_bytes/);
});

test("linuxResourcesToUpdate: the runtime update's Resource, zeros left out", () => {
  const r = LinuxContainerResources.fromPartial({
    cpuQuota: -1n,
    cpuShares: 1024n,
    cpusetMems: '0',
    memoryLimitInBytes: 256n << 20n,
    oomScoreAdj: 100n,
    hugepageLimits: [{ pageSize: '2MB', limit: 1n }],
  });
  assert.deepEqual(linuxResourcesToUpdate(r, V1), {
    cpuQuota: -1,
    cpuShares: 1024,
    cpusetMems: '0',
    memory: 256 << 20,
    memorySwap: 256 << 20,
  });
  assert.deepEqual(linuxResourcesToUpdate(LinuxContainerResources.fromPartial({}), V2), {});
  assertInvalid(
    () => linuxResourcesToUpdate(LinuxContainerResources.fromPartial({ cpuPeriod: -1n }), V1),
    /cpu_period/,
  );
});

test('the default seccomp profile: arch maps and the syscalls capabilities open', () => {
  const x64 = defaultSeccompProfile(DOCKER_CAPABILITIES, 'x64', '6.1.0');
  assert.deepEqual(x64.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.ok(allowed(x64).has('arch_prctl'));
  assert.ok(allowed(x64).has('ptrace'), 'from 4.8 on');
  assert.ok(
    !allowed(x64).has('mount') && !allowed(x64).has('keyctl') && !allowed(x64).has('reboot'),
  );
  const clone = x64.syscalls!.find((s) => s.names.includes('clone'));
  assert.deepEqual(clone?.args, [
    { index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
  ]);
  assert.deepEqual(
    x64.syscalls!.find((s) => s.names.includes('clone3')),
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
  );
  const arm = defaultSeccompProfile(['CAP_SYS_BOOT', 'CAP_SYS_PTRACE'], 'arm64', '4.4.0');
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64']);
  assert.ok(allowed(arm).has('set_tls') && !allowed(arm).has('arch_prctl'));
  assert.ok(allowed(arm).has('reboot') && allowed(arm).has('ptrace'), 'by capability');
  assert.ok(!allowed(defaultSeccompProfile([], 'arm64', '4.4.0')).has('ptrace'), 'before 4.8');
  assert.deepEqual(defaultSeccompProfile([], 'mips').architectures, []);
});

test('every container config error code is INVALID_ARGUMENT for a CRI client', () => {
  for (const code of CONTAINER_CONFIG_ERROR_CODES)
    assert.equal(
      criStatusFromError(Object.assign(new Error('x'), { code })).code,
      status.INVALID_ARGUMENT,
      code,
    );
});
