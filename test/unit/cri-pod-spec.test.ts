/**
 * RunPodSandbox's config checks and the pause container's config, without
 * running anything: what each namespace option gives, the hostname rules,
 * sysctls refused with the host's namespaces, cgroup parents that climb
 * out, and every refusal an InvalidPodConfigError (INVALID_ARGUMENT).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import {
  NamespaceMode,
  PodSandboxConfig,
  type NamespaceOption,
} from '../../src/cri/generated/api.js';
import {
  criStatusFromError,
  InvalidPodConfigError,
  PodSandboxNotFoundError,
} from '../../src/cri/pod-errors.js';
import { expandSlice, pauseContainerConfig, podRecordDraft } from '../../src/cri/pod-spec.js';
import type { PodRecord } from '../../src/cri/sandbox-store.js';
import { defaultBundleConfig } from '../../src/runtime/index.js';

type ConfigInput = NonNullable<Parameters<typeof PodSandboxConfig.fromPartial>[0]>;

function config(extra: ConfigInput = {}, ns?: Partial<NamespaceOption>): PodSandboxConfig {
  return PodSandboxConfig.fromPartial({
    metadata: { name: 'web-0', namespace: 'default', uid: '5b0e-11ee', attempt: 0 },
    hostname: 'web-0',
    ...extra,
    ...(ns ? { linux: { ...extra.linux, securityContext: { namespaceOptions: ns } } } : {}),
  });
}

function record(draftConfig: PodSandboxConfig): PodRecord {
  return {
    ...podRecordDraft(draftConfig, '', 'node-1'),
    id: 'a'.repeat(64),
    createdAt: '1',
    state: 'NOTREADY',
    podDir: '/pods/a',
    pauseContainerId: 'a'.repeat(64),
    sandboxImage: 'pause',
  };
}

const files = {
  resolvConf: '/pods/a/resolv.conf',
  hostname: '/pods/a/hostname',
  hosts: '/pods/a/hosts',
};

test('a pod of its own: new network (the netns file) + UTS, IPC, PID, mount; hostname, sysctls, cgroup, pod files', () => {
  const pod = record(
    config({
      linux: { cgroupParent: '/kubepods/pod1', sysctls: { 'net.core.somaxconn': '1024' } },
    }),
  );
  const spec = pauseContainerConfig(
    defaultBundleConfig('rootfs'),
    pod,
    files,
    '/run/berth/netns/x',
  );
  const linux = spec.linux as { namespaces: unknown[]; sysctl: unknown; cgroupsPath: string };
  assert.deepEqual(linux.namespaces, [
    { type: 'mount' },
    { type: 'network', path: '/run/berth/netns/x' },
    { type: 'uts' },
    { type: 'ipc' },
    { type: 'pid' },
  ]);
  assert.equal(spec.hostname, 'web-0');
  assert.deepEqual(linux.sysctl, { 'net.core.somaxconn': '1024' });
  assert.equal(linux.cgroupsPath, `/kubepods/pod1/${'a'.repeat(64)}`);
  const mounts = spec.mounts as Array<{ destination: string; source: string; options: string[] }>;
  for (const [destination, source] of [
    ['/etc/resolv.conf', files.resolvConf],
    ['/etc/hostname', files.hostname],
    ['/etc/hosts', files.hosts],
  ])
    assert.ok(
      mounts.some(
        (m) => m.destination === destination && m.source === source && m.options.includes('ro'),
      ),
      destination,
    );
});

test("the host's network, PID and IPC: none of those namespaces, no hostname, the node's name", () => {
  const pod = record(
    config({}, { network: NamespaceMode.NODE, pid: NamespaceMode.NODE, ipc: NamespaceMode.NODE }),
  );
  assert.equal(pod.hostname, 'node-1');
  const spec = pauseContainerConfig(defaultBundleConfig('rootfs'), pod, files, undefined);
  assert.deepEqual((spec.linux as { namespaces: unknown[] }).namespaces, [{ type: 'mount' }]);
  assert.equal(spec.hostname, undefined);
  // CONTAINER for the sandbox: its PID namespace is its own, as POD.
  const own = record(config({}, { pid: NamespaceMode.CONTAINER }));
  assert.equal(own.namespaces.pid, 'pod');
});

test('systemd slice cgroup parents (the kubelet’s systemd driver) are made their cgroupfs paths', () => {
  assert.equal(expandSlice('kubepods.slice'), '/kubepods.slice');
  assert.equal(
    expandSlice('kubepods-besteffort-pod5b0e_11ee.slice'),
    '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod5b0e_11ee.slice',
  );
  assert.equal(expandSlice('-.slice'), '/');
  for (const bad of ['kubepods', '.slice', 'a--b.slice', '-a.slice', 'a-.slice', 'a/b.slice']) {
    assert.equal(expandSlice(bad), undefined, bad);
  }
  const uid = '5b0e11ee-aaaa-bbbb';
  const pod = record(
    config({ linux: { cgroupParent: `kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice` } }),
  );
  const parent = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5b0e11ee_aaaa_bbbb.slice`;
  assert.equal(pod.cgroupParent, parent);
  const spec = pauseContainerConfig(
    defaultBundleConfig('rootfs'),
    pod,
    files,
    '/run/berth/netns/x',
  );
  assert.equal((spec.linux as { cgroupsPath: string }).cgroupsPath, `${parent}/${'a'.repeat(64)}`);
});

// Bad configs: each an InvalidPodConfigError or InvalidArgumentError, INVALID_ARGUMENT on the wire.
const badConfigs: Array<[string, PodSandboxConfig | undefined, string?]> = [
  ['no config', undefined],
  ['no metadata', PodSandboxConfig.fromPartial({})],
  ['bad name', config({ metadata: { name: 'Web_0', namespace: 'default', uid: 'u', attempt: 0 } })],
  ['empty namespace', config({ metadata: { name: 'web', namespace: '', uid: 'u', attempt: 0 } })],
  ['bad uid', config({ metadata: { name: 'web', namespace: 'default', uid: '../x', attempt: 0 } })],
  ['bad hostname', config({ hostname: 'a b' })],
  [
    'bad DNS option',
    config({ dnsConfig: { servers: [], searches: [], options: ['a\nnameserver 1.2.3.4'] } }),
  ],
  ['relative log dir', config({ logDirectory: 'logs' })],
  ['cgroup parent climbing', config({ linux: { cgroupParent: '/a/../..' } })],
  ['relative cgroup parent', config({ linux: { cgroupParent: 'kubepods' } })],
  ['slice with an empty component', config({ linux: { cgroupParent: 'kubepods--x.slice' } })],
  ['slice starting with a dash', config({ linux: { cgroupParent: '-kubepods.slice' } })],
  ['bare .slice', config({ linux: { cgroupParent: '.slice' } })],
  ['slice with a space', config({ linux: { cgroupParent: 'kube pods.slice' } })],
  ['slice with a colon', config({ linux: { cgroupParent: 'kubepods.slice:cri:x' } })],
  ['bad sysctl name', config({ linux: { sysctls: { 'net.core;rm': '1' } } })],
  [
    'port 0',
    config({ portMappings: [{ protocol: 0, containerPort: 0, hostPort: 80, hostIp: '' }] }),
  ],
  ['unknown handler', config(), 'kata'],
];
for (const [what, cfg, handler] of badConfigs)
  test(`bad config, ${what}: INVALID_ARGUMENT`, () => {
    assert.throws(
      () => podRecordDraft(cfg, handler ?? '', 'node'),
      (err: Error & { code?: string }) => criStatusFromError(err).code === status.INVALID_ARGUMENT,
      what,
    );
  });

test('sysctls of a namespace the pod shares with the host: InvalidPodConfigError; an unknown sandbox is NOT_FOUND', () => {
  assert.throws(
    () =>
      podRecordDraft(
        PodSandboxConfig.fromPartial({
          ...config(),
          linux: {
            sysctls: { 'net.ipv4.ip_forward': '1' },
            securityContext: { namespaceOptions: { network: NamespaceMode.NODE } },
          },
        }),
        '',
        'node',
      ),
    InvalidPodConfigError,
  );
  assert.throws(
    () =>
      podRecordDraft(
        PodSandboxConfig.fromPartial({
          ...config(),
          linux: {
            sysctls: { 'kernel.shmmax': '1' },
            securityContext: { namespaceOptions: { ipc: NamespaceMode.NODE } },
          },
        }),
        '',
        'node',
      ),
    InvalidPodConfigError,
  );
  assert.equal(criStatusFromError(new PodSandboxNotFoundError('x')).code, status.NOT_FOUND);
});
