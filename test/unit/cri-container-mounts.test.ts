/**
 * A CRI container's mounts and devices into the OCI spec, on real host
 * paths in a temporary folder and real devices (/dev/null, /dev/zero):
 * bind options and propagation (checked against a given mountinfo),
 * replacing the spec's own mounts, missing sources made, devices stat'd,
 * every refusal a typed error that leaves nothing made.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Device, Mount, MountPropagation } from '../../src/cri/generated/api.js';
import {
  applyMounts,
  hostDevices,
  type DeviceCgroupRule,
  type LinuxDevice,
  type OciMount,
} from '../../src/cri/container-mounts.js';
import {
  InvalidContainerConfigError,
  InvalidDeviceError,
  MountSourceError,
} from '../../src/cri/container-config-errors.js';
import { criStatusFromError } from '../../src/cri/pod-errors.js';
import { defaultBundleConfig, type BundleConfig } from '../../src/runtime/index.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cri-mounts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function hostDir(name: string): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  return path;
}

/** mountinfo lines: `dir` on a mount of its own with the given propagation tags. */
function mountInfo(tags: string): string {
  return [
    '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    `90 27 0:50 / ${dir} rw,relatime ${tags} - tmpfs tmpfs rw`.replace('  ', ' '),
  ].join('\n');
}

const mount = (m: Partial<Mount>) => Mount.fromPartial(m);
const device = (d: Partial<Device>) => Device.fromPartial(d);
const mountsOf = (spec: BundleConfig) => spec.mounts as OciMount[];
const at = (spec: BundleConfig, destination: string) =>
  mountsOf(spec).filter((m) => m.destination === destination);
const linux = (spec: BundleConfig) => spec.linux as Record<string, unknown>;

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

test('a bind mount: rbind, rprivate, rw, after the defaults; the input spec untouched', () => {
  const input = defaultBundleConfig('/rootfs');
  const before = structuredClone(input);
  const source = hostDir('data');
  const spec = applyMounts(input, [mount({ containerPath: '/data', hostPath: source })], []);
  assert.deepEqual(input, before);
  assert.deepEqual(mountsOf(spec).at(-1), {
    destination: '/data',
    type: 'bind',
    source,
    options: ['rbind', 'rprivate', 'rw'],
  });
  assert.equal(mountsOf(spec).length, before.mounts.length + 1);
  assert.equal(linux(spec).rootfsPropagation, undefined);
});

test('read-only: ro', () => {
  const spec = applyMounts(
    defaultBundleConfig(),
    [mount({ containerPath: '/config', hostPath: hostDir('config'), readonly: true })],
    [],
  );
  assert.deepEqual(at(spec, '/config')[0]?.options, ['rbind', 'rprivate', 'ro']);
});

test('sorted parents first, whatever the order given', () => {
  const spec = applyMounts(
    defaultBundleConfig(),
    [
      mount({ containerPath: '/a/b/c', hostPath: hostDir('c') }),
      mount({ containerPath: '/a', hostPath: hostDir('a') }),
      mount({ containerPath: '/a/b/', hostPath: hostDir('b') }),
    ],
    [],
  );
  assert.deepEqual(
    mountsOf(spec)
      .slice(-3)
      .map((m) => m.destination),
    ['/a', '/a/b', '/a/b/c'],
  );
});

test("a mount at a path the spec mounts replaces the spec's", () => {
  const spec = applyMounts(
    defaultBundleConfig(),
    [mount({ containerPath: '/tmp', hostPath: hostDir('tmp') })],
    [],
  );
  assert.deepEqual(
    at(spec, '/tmp').map((m) => m.type),
    ['bind'],
  );
});

test('a mount at /dev drops every default mount under /dev', () => {
  const spec = applyMounts(
    defaultBundleConfig(),
    [mount({ containerPath: '/dev', hostPath: hostDir('dev') })],
    [],
  );
  assert.deepEqual(
    mountsOf(spec)
      .filter((m) => m.destination.startsWith('/dev'))
      .map((m) => [m.destination, m.type]),
    [['/dev', 'bind']],
  );
});

test("berth's extra mounts are added, and a CRI mount at the same path wins", () => {
  const mine = hostDir('hosts-cri');
  const spec = applyMounts(
    defaultBundleConfig(),
    [mount({ containerPath: '/etc/hosts', hostPath: mine })],
    [],
    {
      extraMounts: [
        mount({ containerPath: '/etc/hosts', hostPath: hostDir('hosts-pod'), readonly: true }),
        mount({ containerPath: '/etc/resolv.conf', hostPath: hostDir('resolv'), readonly: true }),
      ],
    },
  );
  assert.deepEqual(
    at(spec, '/etc/hosts').map((m) => m.source),
    [mine],
  );
  assert.equal(at(spec, '/etc/resolv.conf').length, 1);
});

test('a missing host path is made as a folder; a symlinked one is resolved', () => {
  const missing = join(dir, 'made', 'here');
  const real = hostDir('real');
  const link = join(dir, 'link');
  symlinkSync(real, link);
  const spec = applyMounts(
    defaultBundleConfig(),
    [
      mount({ containerPath: '/made', hostPath: missing }),
      mount({ containerPath: '/linked', hostPath: link }),
    ],
    [],
  );
  assert.ok(existsSync(missing));
  assert.equal(at(spec, '/made')[0]?.source, missing);
  assert.equal(at(spec, '/linked')[0]?.source, real);
});

test('host-to-container on a private mount: MountSourceError', () => {
  assertInvalid(
    () =>
      applyMounts(
        defaultBundleConfig(),
        [
          mount({
            containerPath: '/x',
            hostPath: hostDir('private'),
            propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
          }),
        ],
        [],
        { mountInfo: mountInfo('') },
      ),
    /host-to-container propagation needs its mount .* shared or a slave/,
    MountSourceError,
  );
});

test('host-to-container on a slave mount: rslave, and the rootfs rslave', () => {
  const spec = applyMounts(
    defaultBundleConfig(),
    [
      mount({
        containerPath: '/x',
        hostPath: hostDir('slave'),
        propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
      }),
    ],
    [],
    { mountInfo: mountInfo('master:3') },
  );
  assert.deepEqual(at(spec, '/x')[0]?.options, ['rbind', 'rslave', 'rw']);
  assert.equal(linux(spec).rootfsPropagation, 'rslave');
});

test('bidirectional needs a shared mount: a slave one is refused', () => {
  assertInvalid(
    () =>
      applyMounts(
        defaultBundleConfig(),
        [
          mount({
            containerPath: '/x',
            hostPath: hostDir('slave2'),
            propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL,
          }),
        ],
        [],
        { mountInfo: mountInfo('master:3') },
      ),
    /bidirectional propagation needs its mount .* to be shared,/,
    MountSourceError,
  );
});

test('bidirectional on a shared mount: rshared, and the rootfs stays rshared after an rslave one', () => {
  const spec = applyMounts(
    defaultBundleConfig(),
    [
      mount({
        containerPath: '/shared',
        hostPath: hostDir('shared'),
        propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL,
      }),
      mount({
        containerPath: '/shared/in',
        hostPath: hostDir('shared-in'),
        propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
      }),
    ],
    [],
    { mountInfo: mountInfo('shared:7') },
  );
  assert.deepEqual(at(spec, '/shared')[0]?.options, ['rbind', 'rshared', 'rw']);
  assert.deepEqual(at(spec, '/shared/in')[0]?.options, ['rbind', 'rslave', 'rw']);
  assert.equal(linux(spec).rootfsPropagation, 'rshared');
});

test('bad mounts are refused before any folder is made', () => {
  const first = join(dir, 'never-made');
  const refuse = (bad: Partial<Mount>, pattern: RegExp) =>
    assertInvalid(
      () =>
        applyMounts(
          defaultBundleConfig(),
          [mount({ containerPath: '/first', hostPath: first }), mount(bad)],
          [],
        ),
      pattern,
    );
  refuse({ containerPath: 'relative', hostPath: '/tmp' }, /container_path must be an absolute/);
  refuse({ containerPath: '/rel', hostPath: 'tmp' }, /host_path must be an absolute/);
  refuse({ containerPath: '/first/', hostPath: '/tmp' }, /two mounts at \/first/);
  refuse(
    { containerPath: '/p', hostPath: '/tmp', propagation: MountPropagation.UNRECOGNIZED },
    /unknown mount propagation/,
  );
  assert.ok(!existsSync(first));
});

test('a device: type and numbers from the host, at its container path, allowed with its permissions', () => {
  const spec = applyMounts(
    defaultBundleConfig(),
    [],
    [device({ hostPath: '/dev/null', containerPath: '/dev/mynull', permissions: 'rw' })],
  );
  const [found] = linux(spec).devices as LinuxDevice[];
  assert.deepEqual(
    { path: found?.path, type: found?.type, major: found?.major, minor: found?.minor },
    { path: '/dev/mynull', type: 'c', major: 1, minor: 3 },
  );
  const rules = (linux(spec).resources as { devices: DeviceCgroupRule[] }).devices;
  assert.deepEqual(rules, [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
  ]);
});

test('a device without a container path is at its host path; symlinks followed; rwm by default', () => {
  const link = join(dir, 'zero-link');
  symlinkSync('/dev/zero', link);
  const spec = applyMounts(defaultBundleConfig(), [], [device({ hostPath: link })]);
  const [found] = linux(spec).devices as LinuxDevice[];
  assert.equal(found?.path, link);
  assert.equal(found?.minor, 5);
  const rules = (linux(spec).resources as { devices: DeviceCgroupRule[] }).devices;
  assert.equal(rules.at(-1)?.access, 'rwm');
});

test('a device path that is not a device, or is missing: InvalidDeviceError', () => {
  const file = join(dir, 'plain-file');
  writeFileSync(file, '');
  assertInvalid(
    () => applyMounts(defaultBundleConfig(), [], [device({ hostPath: file })]),
    /not a character or block device/,
    InvalidDeviceError,
  );
  assertInvalid(
    () => applyMounts(defaultBundleConfig(), [], [device({ hostPath: join(dir, 'no-dev') })]),
    /ENOENT/,
    InvalidDeviceError,
  );
});

test('device permissions other than letters of rwm are refused', () => {
  assertInvalid(
    () =>
      applyMounts(
        defaultBundleConfig(),
        [],
        [device({ hostPath: '/dev/null', permissions: 'rwx' })],
      ),
    /permissions must be letters of "rwm"/,
  );
  assertInvalid(
    () =>
      applyMounts(
        defaultBundleConfig(),
        [],
        [device({ hostPath: '/dev/null', permissions: 'rr' })],
      ),
    /permissions must be letters/,
  );
});

test("hostDevices: the host's devices, not the console nor /dev/pts", () => {
  const devices = hostDevices();
  const null_ = devices.find((d) => d.path === '/dev/null');
  assert.deepEqual(
    { type: null_?.type, major: null_?.major, minor: null_?.minor },
    { type: 'c', major: 1, minor: 3 },
  );
  assert.ok(!devices.some((d) => d.path === '/dev/console' || d.path.startsWith('/dev/pts/')));
});
