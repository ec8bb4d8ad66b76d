/**
 * The stats RPCs through a CriServer over a real Supervisor on runc:
 * ContainerStats (CPU cores used by a container held to a tenth of a core,
 * memory against its limit, its writable layer's bytes and inodes),
 * ListContainerStats with its filters (running containers only), a real
 * pod's PodSandboxStats (RunPodSandbox with CNI and a cgroup parent: the
 * parent's CPU covers its containers', its eth0 counters move with a ping
 * from its namespace, its process count), ListPodSandboxStats by label,
 * NOT_FOUND for unknown ids, and crictl stats / statsp.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { CriServer } from '../../src/cri/server.js';
import { podSandboxesFrom } from '../../src/cri/runtime-service.js';
import type { PodSandboxes } from '../../src/cri/pods.js';
import { RuntimeServiceClient } from '../../src/cri/generated/api.js';
import type {
  ContainerStats,
  ContainerStatsFilter,
  PodSandboxStats,
  PodSandboxStatsFilter,
} from '../../src/cri/generated/api.js';
import { tempDir, writeBundle } from '../../support/busybox.js';
import { crictl, findCrictl } from '../helpers/crictl.js';
import { TestContainerLookup } from '../helpers/cri-lookup.js';
import { podConfigFile, podEnv, type PodEnv } from '../helpers/cri-pod-env.js';

const base = tempDir('berth-cri-stats-');
const socket = join(base, 'cri.sock');
const criDir = join(base, 'cri');
const binary = findCrictl();
if (!binary) console.log('# cri-stats: crictl not found: the pod and crictl tests are skipped');

const MEMORY_LIMIT = 64n * 1024n * 1024n;
let supervisor: Supervisor;
let lookup: TestContainerLookup;
let server: CriServer;
let client: RuntimeServiceClient;
let env: PodEnv | undefined;
let pods: PodSandboxes | undefined;
const started: string[] = [];
const burner = randomBytes(32).toString('hex');
const idle = randomBytes(32).toString('hex');
const exited = randomBytes(32).toString('hex');
const layer = join(base, 'upper');

/** A supervisor container on the busybox bundle, with a CPU quota when asked. */
async function startContainer(
  id: string,
  args: string[],
  options: { cpuQuota?: number; cgroupsPath?: string } = {},
): Promise<void> {
  const dir = writeBundle(join(base, id.slice(0, 12)), {
    args,
    memoryLimit: Number(MEMORY_LIMIT),
    ...(options.cgroupsPath ? { cgroupsPath: options.cgroupsPath } : {}),
  });
  if (options.cpuQuota) {
    const path = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as {
      linux: { resources: Record<string, unknown> };
    };
    config.linux.resources.cpu = { quota: options.cpuQuota, period: 100_000 };
    writeFileSync(path, JSON.stringify(config));
  }
  await supervisor.createContainer({ id, bundlePath: dir });
  started.push(id);
}

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

function call<Req, Res>(method: string, request: Req): Promise<Res> {
  const methods = client as unknown as Record<string, (req: Req, cb: Callback<Res>) => void>;
  return new Promise((resolve, reject) => {
    methods[method]!.call(client, request, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

const containerStats = (containerId: string) =>
  call<{ containerId: string }, { stats: ContainerStats }>('containerStats', { containerId }).then(
    (r) => r.stats,
  );
const listContainerStats = (filter?: Partial<ContainerStatsFilter>) =>
  call<object, { stats: ContainerStats[] }>('listContainerStats', {
    filter: filter ? { id: '', podSandboxId: '', labelSelector: {}, ...filter } : undefined,
  }).then((r) => r.stats);
const podSandboxStats = (podSandboxId: string) =>
  call<object, { stats: PodSandboxStats }>('podSandboxStats', { podSandboxId }).then(
    (r) => r.stats,
  );
const listPodSandboxStats = (filter?: Partial<PodSandboxStatsFilter>) =>
  call<object, { stats: PodSandboxStats[] }>('listPodSandboxStats', {
    filter: filter ? { id: '', labelSelector: {}, ...filter } : undefined,
  }).then((r) => r.stats);

before(async () => {
  supervisor = await Supervisor.open({ stateDir: join(base, 'supervisor') });
  lookup = new TestContainerLookup(supervisor);
  // A tenth of a core, spent without end.
  await startContainer(burner, ['sh', '-c', 'while :; do :; done'], { cpuQuota: 10_000 });
  await startContainer(idle, ['sleep', '2147483647']);
  mkdirSync(layer);
  writeFileSync(join(layer, 'data'), Buffer.alloc(1024 * 1024, 7));
  lookup.add({ id: burner, labels: { role: 'burner' }, writableLayerPath: layer });
  lookup.add({ id: idle, labels: { role: 'idle' } });
  lookup.add({ id: exited, labels: { role: 'burner' }, state: 'exited' });
  if (binary) {
    env = await podEnv(base);
    pods = podSandboxesFrom({
      supervisor,
      store: env.store,
      criStateDir: criDir,
      cniConfDir: env.cniConfDir,
      netnsDir: env.netnsDir,
      sandboxImage: env.sandboxImage,
      sandboxCommand: env.sandboxCommand,
    });
  }
  server = await CriServer.listen(`unix://${socket}`, {
    supervisor,
    ...(env ? { store: env.store, cniConfDir: env.cniConfDir } : {}),
    criStateDir: criDir,
    ...(pods ? { pods } : {}),
    containerLookup: lookup,
    graceMs: 1000,
  });
  client = new RuntimeServiceClient(`unix://${socket}`, credentials.createInsecure());
});

after(async () => {
  client?.close();
  try {
    for (const record of (await pods?.store.list()) ?? []) {
      await pods!.remove(record.id).catch(() => undefined);
    }
    for (const id of started) await supervisor.signal(id, 'init', 9).catch(() => undefined);
    for (let waited = 0; waited < 100; waited++) {
      const { containers } = await supervisor.state();
      if (!containers.some((c) => started.includes(c.id))) break;
      await sleep(100);
    }
    await server?.close();
    await supervisor?.close();
  } finally {
    await env?.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});

test('ContainerStats: CPU cores from two samples, memory against the limit, the writable layer', async () => {
  const first = await containerStats(burner.slice(0, 12));
  assert.equal(first.attributes?.id, burner);
  assert.deepEqual(first.attributes?.labels, { role: 'burner' });
  await sleep(1500);
  const second = await containerStats(burner);
  const cpu = second.cpu!;
  assert.ok(
    cpu.usageCoreNanoSeconds!.value > first.cpu!.usageCoreNanoSeconds!.value,
    'cumulative usage grows',
  );
  const cores = Number(cpu.usageNanoCores!.value) / 1e9;
  assert.ok(cores > 0.02 && cores < 0.3, `a tenth of a core used, measured ${cores}`);
  const memory = second.memory!;
  assert.ok(memory.usageBytes!.value > 0n);
  assert.ok(memory.workingSetBytes!.value <= memory.usageBytes!.value);
  assert.equal(memory.availableBytes!.value, MEMORY_LIMIT - memory.workingSetBytes!.value);
  assert.ok(memory.pageFaults!.value > 0n);
  const writable = second.writableLayer!;
  assert.equal(writable.inodesUsed?.value, 2n, 'the folder and its file');
  assert.ok(writable.usedBytes!.value >= 1024n * 1024n, `${writable.usedBytes?.value} bytes`);
  assert.ok(cpu.timestamp > 0n && memory.timestamp === cpu.timestamp);
});

test('ContainerStats: unknown is NOT_FOUND; a container not running has no cgroup figures', async () => {
  await assert.rejects(containerStats('0'.repeat(64)), { code: GrpcStatus.NOT_FOUND });
  await assert.rejects(containerStats(''), { code: GrpcStatus.NOT_FOUND });
  const stats = await containerStats(exited);
  assert.equal(stats.attributes?.id, exited);
  assert.equal(stats.cpu, undefined);
  assert.equal(stats.memory, undefined);
});

test('ListContainerStats: running containers only, by id prefix and by label', async () => {
  const all = await listContainerStats();
  assert.deepEqual(all.map((s) => s.attributes?.id).sort(), [burner, idle].sort());
  const byId = await listContainerStats({ id: idle.slice(0, 10) });
  assert.deepEqual(
    byId.map((s) => s.attributes?.id),
    [idle],
  );
  const byLabel = await listContainerStats({ labelSelector: { role: 'burner' } });
  assert.deepEqual(
    byLabel.map((s) => s.attributes?.id),
    [burner],
  );
  assert.deepEqual(await listContainerStats({ podSandboxId: 'ffff' }), []);
  // Cheap: no process is spawned, a few files are read per container.
  const started = process.hrtime.bigint();
  for (let i = 0; i < 20; i++) await listContainerStats();
  const perCall = Number(process.hrtime.bigint() - started) / 20 / 1e6;
  console.log(`# ListContainerStats with 2 containers: ${perCall.toFixed(2)} ms per call`);
});

test('a pod: its cgroup parent’s CPU covers its container’s, eth0 counts a ping, its processes counted', async (t) => {
  if (!binary || !env || !pods) return t.skip('crictl not found (set CRICTL)');
  const ran = await crictl(binary, socket, [
    'runp',
    podConfigFile(env, 'stats', { labels: { app: 'stats' } }),
  ]);
  assert.equal(ran.status, 0, ran.stderr);
  const podId = ran.stdout.trim();
  const member = randomBytes(32).toString('hex');
  await startContainer(member, ['sh', '-c', 'while :; do :; done'], {
    cpuQuota: 10_000,
    cgroupsPath: `${env.cgroupParent}/${podId}-${member.slice(0, 8)}`,
  });
  // The container's cgroup is under the pod's cgroup parent, beside the pause container's.
  lookup.add({ id: member, podSandboxId: podId, labels: { app: 'stats' } });
  // Not a CRI container, but under the pod's cgroup parent: only the parent's figures count it.
  const stray = randomBytes(32).toString('hex');
  await startContainer(stray, ['sleep', '2147483647'], {
    cgroupsPath: `${env.cgroupParent}/${podId}-${stray.slice(0, 8)}`,
  });
  const netns = (await pods.store.load(podId))!.network!.netns;
  execFileSync('nsenter', [
    `--net=${netns}`,
    '--',
    'busybox',
    'ping',
    '-c',
    '1',
    '-W',
    '2',
    env.gateway,
  ]);
  await podSandboxStats(podId.slice(0, 12));
  await sleep(1000);
  const stats = await podSandboxStats(podId);
  assert.equal(stats.attributes?.id, podId);
  assert.equal(stats.attributes?.metadata?.name, 'stats');
  const linux = stats.linux!;
  assert.deepEqual(
    linux.containers.map((c) => c.attributes?.id),
    [member],
  );
  const memberCpu = linux.containers[0]!.cpu!.usageCoreNanoSeconds!.value;
  assert.ok(
    linux.cpu!.usageCoreNanoSeconds!.value >= memberCpu,
    `pod ${linux.cpu!.usageCoreNanoSeconds!.value} ≥ its container ${memberCpu}`,
  );
  const cores = Number(linux.cpu!.usageNanoCores!.value) / 1e9;
  assert.ok(cores > 0.02 && cores < 0.5, `the pod uses about a tenth of a core: ${cores}`);
  assert.ok(linux.memory!.usageBytes!.value > 0n);
  assert.equal(linux.network?.defaultInterface?.name, 'eth0');
  assert.ok(linux.network!.defaultInterface!.txBytes!.value >= 98n, 'the ping went out');
  assert.ok(linux.network!.defaultInterface!.rxBytes!.value >= 98n, 'its answer came in');
  assert.ok(
    !linux.network!.interfaces.some((i) => i.name === 'lo'),
    'loopback is not an interface',
  );
  // The pause process, the container's shell, the stray sleep: the cgroup parent's count.
  assert.ok(linux.process!.processCount!.value >= 3n, `${linux.process?.processCount?.value}`);

  const listed = await listPodSandboxStats({ labelSelector: { app: 'stats' } });
  assert.deepEqual(
    listed.map((s) => s.attributes?.id),
    [podId],
  );
  assert.deepEqual(await listPodSandboxStats({ labelSelector: { app: 'none' } }), []);
  await assert.rejects(podSandboxStats('0'.repeat(64)), { code: GrpcStatus.NOT_FOUND });

  const statsp = await crictl(binary, socket, ['statsp', '-o', 'json']);
  assert.equal(statsp.status, 0, statsp.stderr);
  assert.match(statsp.stdout, new RegExp(podId));
  const statsOut = await crictl(binary, socket, ['stats', '-o', 'json']);
  assert.equal(statsOut.status, 0, statsOut.stderr);
  assert.match(statsOut.stdout, new RegExp(member));

  await supervisor.signal(member, 'init', 9);
  await supervisor.signal(stray, 'init', 9);
  await pods.remove(podId);
  assert.deepEqual(await listPodSandboxStats(), []);
});
