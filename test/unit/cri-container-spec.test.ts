/** CreateContainer's pure parts: config checks, log path, namespaces, overrides, stop signal, exits, resources. */
import { linuxResourcesToUpdate } from '../../src/cri/container-linux.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import {
  checkContainerConfig,
  containerLogPath,
  containerNamespaces,
  criContainerConfig,
  imageOverrides,
  stopSignalOf,
  type ContainerSpecContext,
} from '../../src/cri/container-spec.js';
import { exitReason, recordResources, wireResources } from '../../src/cri/containers.js';
import { criStatusFromError } from '../../src/cri/pod-errors.js';
import {
  NamespaceMode,
  type ContainerConfig,
  type LinuxContainerResources,
} from '../../src/cri/generated/api.js';
import type { PodRecord } from '../../src/cri/sandbox-store.js';
import { defaultBundleConfig } from '../../src/runtime/index.js';

const POD: PodRecord = {
  id: 'a'.repeat(64),
  metadata: { name: 'web', uid: 'u1', namespace: 'default', attempt: 0 },
  labels: {},
  annotations: {},
  hostname: 'web',
  logDirectory: '/var/log/pods/web',
  portMappings: [],
  cgroupParent: '/kubepods/pod1',
  sysctls: {},
  namespaces: { network: 'pod', pid: 'pod', ipc: 'pod' },
  runtimeHandler: 'runc',
  createdAt: '1',
  state: 'READY',
  podDir: '/run/cri/pods/a',
  pauseContainerId: 'a'.repeat(64),
  sandboxImage: 'pause',
  network: { netns: '/run/berth/netns/a', ips: ['10.0.0.2'] },
};

function config(extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    metadata: { name: 'app', attempt: 1 },
    image: { image: 'busybox:latest', annotations: {} },
    command: [],
    args: [],
    workingDir: '',
    envs: [],
    mounts: [],
    devices: [],
    labels: { app: 'x' },
    annotations: {},
    logPath: 'app/1.log',
    stdin: false,
    stdinOnce: false,
    tty: false,
    linux: undefined,
    windows: undefined,
    ...extra,
  };
}

function withNamespaces(
  options: Partial<Record<'network' | 'pid' | 'ipc', NamespaceMode>>,
  targetId = '',
) {
  return config({
    linux: {
      resources: undefined,
      securityContext: {
        capabilities: undefined,
        privileged: false,
        namespaceOptions: {
          network: NamespaceMode.POD,
          pid: NamespaceMode.POD,
          ipc: NamespaceMode.POD,
          targetId,
          usernsOptions: undefined,
          ...options,
        },
        selinuxOptions: undefined,
        runAsUser: undefined,
        runAsGroup: undefined,
        runAsUsername: '',
        readonlyRootfs: false,
        supplementalGroups: [],
        noNewPrivs: false,
        maskedPaths: [],
        readonlyPaths: [],
        seccomp: undefined,
        apparmor: undefined,
        apparmorProfile: '',
        seccompProfilePath: '',
      },
    },
  });
}

const resources: LinuxContainerResources = {
  cpuPeriod: 100000n,
  cpuQuota: 50000n,
  cpuShares: 512n,
  memoryLimitInBytes: 64n * 1024n * 1024n,
  oomScoreAdj: 500n,
  cpusetCpus: '0',
  cpusetMems: '',
  hugepageLimits: [{ pageSize: '2MB', limit: 0n }],
  unified: {},
  memorySwapLimitInBytes: 0n,
};

test('a good config: name, attempt, image, labels, the log path under the pod’s directory', () => {
  const checked = checkContainerConfig(config(), POD);
  assert.deepEqual(checked.metadata, { name: 'app', attempt: 1 });
  assert.equal(checked.image, 'busybox:latest');
  assert.equal(checked.logPath, '/var/log/pods/web/app/1.log');
  assert.equal(checked.pidMode, 'pod');
});

test('bad configs are ERR_INVALID_CONTAINER_CONFIG, INVALID_ARGUMENT on the wire', () => {
  const bad: Array<[string, ContainerConfig | undefined]> = [
    ['missing', undefined],
    ['no metadata', config({ metadata: undefined })],
    ['bad name', config({ metadata: { name: 'Bad_Name', attempt: 0 } })],
    ['no image', config({ image: { image: '', annotations: {} } })],
    ['stdin_once without stdin', config({ stdinOnce: true })],
    ['env with =', config({ envs: [{ key: 'A=B', value: '' }] })],
    ['relative working dir', config({ workingDir: 'tmp' })],
    ['absolute log path', config({ logPath: '/etc/passwd' })],
    ['log path out of the pod dir', config({ logPath: '../other/x.log' })],
    ['host network in a pod network', withNamespaces({ network: NamespaceMode.NODE })],
    ['host IPC in a pod IPC', withNamespaces({ ipc: NamespaceMode.NODE })],
    ['TARGET without a target', withNamespaces({ pid: NamespaceMode.TARGET })],
    ['a target without TARGET', withNamespaces({ pid: NamespaceMode.POD }, 'b'.repeat(64))],
  ];
  for (const [what, value] of bad) {
    let thrown: unknown;
    try {
      checkContainerConfig(value, POD);
    } catch (err) {
      thrown = err;
    }
    assert.equal((thrown as { code?: string })?.code, 'ERR_INVALID_CONTAINER_CONFIG', what);
    assert.equal(criStatusFromError(thrown).code, status.INVALID_ARGUMENT, what);
  }
});

test('log paths: none without log_path; needs a pod log directory; never climbs out', () => {
  assert.equal(containerLogPath('/logs', ''), '');
  assert.equal(containerLogPath('/logs/', 'a/./b.log'), '/logs/a/b.log');
  assert.throws(() => containerLogPath('', 'a.log'), { code: 'ERR_INVALID_CONTAINER_CONFIG' });
  assert.throws(() => containerLogPath('/logs', 'a/../../b.log'), {
    code: 'ERR_INVALID_CONTAINER_CONFIG',
  });
  assert.throws(() => containerLogPath('/logs', '..'), { code: 'ERR_INVALID_CONTAINER_CONFIG' });
});

test('namespaces: the pod’s network (netns file), UTS, IPC and PID joined; CONTAINER new, NODE the host’s, TARGET the target’s', () => {
  const where = { pausePid: 42, targetPid: 77 };
  assert.deepEqual(containerNamespaces(POD, { pidMode: 'pod' }, where), [
    { type: 'mount' },
    { type: 'network', path: '/run/berth/netns/a' },
    { type: 'uts', path: '/proc/42/ns/uts' },
    { type: 'ipc', path: '/proc/42/ns/ipc' },
    { type: 'pid', path: '/proc/42/ns/pid' },
  ]);
  assert.deepEqual(containerNamespaces(POD, { pidMode: 'container' }, where).at(-1), {
    type: 'pid',
  });
  assert.deepEqual(containerNamespaces(POD, { pidMode: 'target' }, where).at(-1), {
    type: 'pid',
    path: '/proc/77/ns/pid',
  });
  const hostPod: PodRecord = {
    ...POD,
    namespaces: { network: 'node', pid: 'node', ipc: 'node' },
  };
  delete hostPod.network;
  assert.deepEqual(containerNamespaces(hostPod, { pidMode: 'node' }, where), [{ type: 'mount' }]);
  assert.throws(() => containerNamespaces(POD, { pidMode: 'pod' }, { pausePid: 0 }), {
    code: 'ERR_INVALID_CONTAINER_CONFIG',
  });
});

test('overrides: command replaces the Entrypoint, args the Cmd; env, working dir, tty, the pod’s hostname', () => {
  assert.deepEqual(
    imageOverrides(
      config({
        command: ['/bin/sh'],
        args: ['-c', 'true'],
        envs: [{ key: 'A', value: '1' }],
        workingDir: '/w',
        tty: true,
      }),
      POD,
    ),
    {
      entrypoint: ['/bin/sh'],
      args: ['-c', 'true'],
      env: ['A=1'],
      cwd: '/w',
      terminal: true,
      hostname: 'web',
    },
  );
  assert.deepEqual(imageOverrides(config(), POD), { env: [], terminal: false, hostname: 'web' });
});

test('the stop signal: the image’s by name, SIG-less name or number; SIGTERM otherwise', () => {
  assert.equal(stopSignalOf({ config: { StopSignal: 'SIGUSR1' } } as never), 10);
  assert.equal(stopSignalOf({ config: { StopSignal: 'quit' } } as never), 3);
  assert.equal(stopSignalOf({ config: { StopSignal: '9' } } as never), 9);
  assert.equal(stopSignalOf({ config: { StopSignal: 'SIGNOPE' } } as never), 15);
  assert.equal(stopSignalOf({ config: {} }), 15);
  assert.equal(stopSignalOf({ config: null }), 15);
});

test('the bundle config: namespaces, no hostname, cgroupsPath under the pod’s parent, pod files, resources', async () => {
  const base = defaultBundleConfig('rootfs');
  base.hostname = 'x';
  const ctx: ContainerSpecContext = {
    containerId: 'c'.repeat(64),
    imageConfig: { config: {} },
    imageLayers: [],
    sandbox: POD,
    privilegedAllowed: false,
  };
  const cfg = config({
    linux: { resources, securityContext: undefined },
    mounts: [
      {
        containerPath: '/data',
        hostPath: '/srv/data',
        readonly: true,
        selinuxRelabel: false,
        propagation: 0,
      },
    ],
  });
  const spec = await criContainerConfig(
    base,
    cfg,
    checkContainerConfig(cfg, POD),
    { resolvConf: '/p/resolv.conf', hostname: '/p/hostname', hosts: '/p/hosts' },
    { pausePid: 42 },
    ctx,
  );
  assert.equal(spec.hostname, undefined);
  assert.equal(spec.linux?.cgroupsPath, `/kubepods/pod1/${'c'.repeat(64)}`);
  const mounts = spec.mounts as Array<{ destination: string; source: string; options: string[] }>;
  assert.equal(mounts.find((m) => m.destination === '/etc/resolv.conf')?.source, '/p/resolv.conf');
  assert.equal(mounts.find((m) => m.destination === '/etc/hosts')?.source, '/p/hosts');
  assert.ok(mounts.find((m) => m.destination === '/data')?.options.includes('ro'));
  const linuxResources = spec.linux?.resources as {
    memory: { limit: number };
    cpu: { shares: number; quota: number; period: number; cpus: string };
  };
  assert.equal(linuxResources.memory.limit, 64 * 1024 * 1024);
  assert.deepEqual(linuxResources.cpu, { shares: 512, quota: 50000, period: 100000, cpus: '0' });
  assert.equal(spec.process.oomScoreAdj, 500);
  assert.equal(base.hostname, 'x', 'the image’s config is not changed');
});

test('exit reasons, and resources recorded (JSON-safe) and updated', () => {
  assert.equal(exitReason(0, false), 'Completed');
  assert.equal(exitReason(1, false), 'Error');
  assert.equal(exitReason(137, true), 'OOMKilled');
  const recorded = recordResources(resources);
  assert.deepEqual(JSON.parse(JSON.stringify(recorded)), recorded);
  assert.deepEqual(wireResources(recorded), resources);
  // Without a swap controller no swap limit; with one, swap = the memory limit (containerd's rule).
  const host = { cgroupVersion: 1 as const, hugetlb: false, capabilities: [] };
  const cpuAndMemory = {
    cpuShares: 512,
    cpuPeriod: 100000,
    cpuQuota: 50000,
    cpusetCpus: '0',
    memory: 64 * 1024 * 1024,
  };
  assert.deepEqual(
    linuxResourcesToUpdate(resources, { ...host, swapController: false }),
    cpuAndMemory,
  );
  assert.deepEqual(linuxResourcesToUpdate(resources, { ...host, swapController: true }), {
    ...cpuAndMemory,
    memorySwap: 64 * 1024 * 1024,
  });
});
