/**
 * Pod sandboxes through the real crictl against a CriServer over a real
 * Supervisor, runc, an image store pulled from a local registry, and
 * Debian's CNI plugins on a bridge and subnet of the test's own: runp gives
 * a READY pod with its IP, labels and annotations, hostname and resolv.conf
 * inside the pause container; stopp (twice) leaves no veth nor IP
 * allocation; rmp leaves no netns, record, folder, cgroup, mount or
 * process; a host-network pod has no netns and runs no CNI; a failing CNI
 * configuration fails runp and leaves nothing; bad configs are
 * INVALID_ARGUMENT, unknown ids NOT_FOUND; a new supervisor + service on the
 * same dirs (a restarted berthd) knows the pod, READY, with its IP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ImageStore } from '../../src/images/index.js';
import { mountPoints } from '../../src/runtime/index.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { CniNetwork } from '../../src/cri/cni.js';
import { NetnsStore } from '../../src/cri/netns.js';
import { PodNetworks } from '../../src/cri/pod-network.js';
import type { PodSandboxes } from '../../src/cri/pods.js';
import { podSandboxesFrom } from '../../src/cri/runtime-service.js';
import { CriServer } from '../../src/cri/server.js';
import { SandboxStore } from '../../src/cri/sandbox-store.js';
import { tempDir } from '../../support/busybox.js';
import { crictl, findCrictl } from '../helpers/crictl.js';
import { buildTestImage, pushImage, startRegistry, type Registry } from '../helpers/registry.js';
import { bridgePorts, run } from '../helpers/host-net.js';

const binary = findCrictl();
const base = tempDir('berth-cri-pods-');
const suffix = randomBytes(3).toString('hex');
const BRIDGE = `berthpod${suffix}`;
const THIRD_OCTET = randomBytes(1)[0]!;
const SUBNET = `10.214.${THIRD_OCTET}.0/24`;
const GATEWAY = `10.214.${THIRD_OCTET}.1`;
const NETWORK = `berthpod-${suffix}`;
const IPAM_DIR = join(base, 'ipam');
const CGROUP_PARENT = `/berthpod-${suffix}`;
const supervisorDir = join(base, 'supervisor');
const criDir = join(base, 'cri');
const netnsDir = join(base, 'netns');
const socket = join(base, 'cri.sock');
const goodConfDir = join(base, 'net.d');
const badConfDir = join(base, 'net.d-bad');
const SANDBOX_COMMAND = ['/bin/busybox', 'sleep', '2147483647'];

let registry: Registry | undefined;
let store: ImageStore;
let sandboxImage: string;
let supervisor: Supervisor | undefined;
let server: CriServer | undefined;

function allocations(): string[] {
  const dir = join(IPAM_DIR, NETWORK);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
}

function writeConf(dir: string, plugins: unknown[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, '10-berthpod.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: NETWORK, plugins }),
  );
}

const bridge = {
  type: 'bridge',
  bridge: BRIDGE,
  isGateway: true,
  ipMasq: false,
  ipam: {
    type: 'host-local',
    ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]],
    routes: [{ dst: '0.0.0.0/0' }],
    dataDir: IPAM_DIR,
  },
};

/** Every cgroup folder of `id` under the test's cgroup parent, in any v1 hierarchy. */
function cgroupsOf(id: string): string[] {
  return readdirSync('/sys/fs/cgroup')
    .map((controller) => join('/sys/fs/cgroup', controller, CGROUP_PARENT, id))
    .filter((dir) => existsSync(dir));
}

/** A supervisor and a CRI server on the test's dirs, as berthd would have them. */
async function startService(
  confDir = goodConfDir,
  sandboxCommand = SANDBOX_COMMAND,
): Promise<{ pods: PodSandboxes }> {
  supervisor = await Supervisor.open({ stateDir: supervisorDir });
  // berthd's way: the service makes its pods from the supervisor, store and dirs it is given.
  const options = {
    supervisor,
    store,
    criStateDir: criDir,
    cniConfDir: confDir,
    netnsDir,
    sandboxImage,
    sandboxCommand,
  };
  server = await CriServer.listen(`unix://${socket}`, { ...options, graceMs: 1000 });
  // The test's own view of the same records (for what crictl cannot ask).
  const pods = podSandboxesFrom(options)!;
  return { pods };
}

async function stopService(): Promise<void> {
  await server?.close();
  await supervisor?.close();
  server = undefined;
  supervisor = undefined;
}

async function cri(args: string[], input?: string) {
  return crictl(binary!, socket, args, input);
}

function podConfig(name: string, extra: Record<string, unknown> = {}): string {
  const path = join(base, `${name}-${randomBytes(3).toString('hex')}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      metadata: { name, namespace: 'default', uid: `uid-${name}-${suffix}`, attempt: 1 },
      hostname: name,
      log_directory: join(base, 'logs', name),
      dns_config: {
        servers: ['10.96.0.10'],
        searches: ['default.svc.cluster.local'],
        options: ['ndots:5'],
      },
      labels: { app: name, tier: 'test' },
      annotations: { 'berth.test/note': `note of ${name}` },
      linux: { cgroup_parent: CGROUP_PARENT },
      ...extra,
    }),
  );
  return path;
}

interface Inspect {
  status: {
    id: string;
    state: string;
    network: { ip: string };
    labels: Record<string, string>;
    annotations: Record<string, string>;
    metadata: { name: string };
  };
  info: { pid: number; netns: string; podDir: string; runtimeSpec?: { hostname?: string } };
}

async function inspect(id: string): Promise<Inspect> {
  const result = await cri(['inspectp', id]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Inspect;
}

function assertNothingLeftOf(id: string): void {
  assert.equal(existsSync(join(netnsDir, id)), false, 'no netns file');
  assert.deepEqual(bridgePorts(BRIDGE), [], 'no veth on the bridge');
  assert.deepEqual(allocations(), [], 'no IP allocation');
  assert.equal(existsSync(join(criDir, 'pods', `${id}.json`)), false, 'no pod record');
  assert.equal(existsSync(join(criDir, 'pods', id)), false, 'no pod folder');
  assert.equal(existsSync(join(supervisorDir, id)), false, 'no container state folder');
  assert.equal(existsSync(join(store.root, 'containers', id)), false, 'no pause bundle');
  assert.deepEqual(cgroupsOf(id), [], 'no cgroup');
  assert.deepEqual(
    mountPoints().filter((p) => p.startsWith(`${base}/`)),
    [],
    'no mount under the test folder',
  );
  assert.deepEqual(
    readdirSync(join(criDir, 'cni')).filter((f) => f.includes(id)),
    [],
    'no CNI attachment record',
  );
}

before(async () => {
  if (!binary) return;
  registry = await startRegistry();
  await buildTestImage(join(base, 'layout'), 'pause');
  sandboxImage = await pushImage(join(base, 'layout'), 'pause', registry, 'pause');
  store = await ImageStore.open({ root: join(base, 'store') });
  await store.pull(sandboxImage);
  writeConf(goodConfDir, [
    bridge,
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'loopback' },
  ]);
  // host-local refuses a range outside its subnet: the ADD fails after bridge made the veth.
  writeConf(badConfDir, [
    {
      ...bridge,
      ipam: { ...bridge.ipam, ranges: [[{ subnet: SUBNET, rangeStart: '10.215.0.10' }]] },
    },
  ]);
});

after(async () => {
  // What a failed test left behind: every pod the service still knows, stopped
  // and removed (pause container, network, netns), before the service goes.
  if (server && binary) {
    const listed = await cri(['pods', '-q']).catch(() => undefined);
    for (const id of listed?.stdout.split('\n').filter(Boolean) ?? []) {
      await cri(['stopp', id]).catch(() => undefined);
      await cri(['rmp', id]).catch(() => undefined);
    }
  }
  await stopService().catch(() => undefined);
  await registry?.stop();
  try {
    run(['ip', 'link', 'del', BRIDGE]);
  } catch {
    // Never made.
  }
  for (const controller of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    try {
      rmdirSync(join('/sys/fs/cgroup', controller, CGROUP_PARENT));
    } catch {
      // Not made in this hierarchy.
    }
  }
  rmSync(base, { recursive: true, force: true });
});

test('runp, pods, inspectp, stopp twice, rmp: READY with an IP, then nothing left', async (t) => {
  if (!binary) return t.skip('crictl not found (set CRICTL)');
  const { pods } = await startService();
  try {
    const hostPort = 20000 + (randomBytes(2).readUInt16BE() % 20000);
    const ran = await cri([
      'runp',
      podConfig('web', {
        port_mappings: [{ protocol: 0, container_port: 8080, host_port: hostPort }],
        linux: {
          cgroup_parent: CGROUP_PARENT,
          sysctls: { 'net.ipv4.ip_unprivileged_port_start': '80', 'kernel.shm_rmid_forced': '1' },
        },
      }),
    ]);
    assert.equal(ran.status, 0, ran.stderr);
    const id = ran.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    const listed = await cri(['pods', '-o', 'json']);
    assert.equal(listed.status, 0, listed.stderr);
    const items = (JSON.parse(listed.stdout) as { items: Array<{ id: string; state: string }> })
      .items;
    assert.deepEqual(
      items.map((p) => [p.id, p.state]),
      [[id, 'SANDBOX_READY']],
    );

    const seen = await inspect(id);
    assert.equal(seen.status.state, 'SANDBOX_READY');
    assert.equal(seen.status.metadata.name, 'web');
    assert.match(seen.status.network.ip, new RegExp(`^10\\.214\\.${THIRD_OCTET}\\.\\d+$`));
    assert.deepEqual(seen.status.labels, { app: 'web', tier: 'test' });
    assert.deepEqual(seen.status.annotations, { 'berth.test/note': 'note of web' });
    assert.equal(seen.info.netns, join(netnsDir, id));
    assert.ok(seen.info.pid > 0, 'the pause container runs');
    assert.deepEqual(allocations(), [seen.status.network.ip]);
    assert.equal(bridgePorts(BRIDGE).length, 1);
    assert.notDeepEqual(cgroupsOf(id), [], 'the pause container is in the pod cgroup parent');

    // Inside the pause container: its hostname, the pod's resolv.conf, its eth0 address.
    // Its files through /proc/<pid>/root, not `nsenter -m`: that lands at the mount
    // namespace's root, which is not the container's when runc ran inside a chroot (CI's).
    const pid = String(seen.info.pid);
    const inPause = (path: string) => readFileSync(`/proc/${pid}/root${path}`, 'utf8');
    assert.equal(run(['nsenter', '-t', pid, '-u', 'hostname']).trim(), 'web');
    assert.equal(
      inPause('/etc/resolv.conf'),
      'search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    assert.match(inPause('/etc/hosts'), new RegExp(`${seen.status.network.ip}\\tweb`));
    assert.match(
      run(['nsenter', '-t', pid, '-n', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']),
      new RegExp(`inet ${seen.status.network.ip.replace(/\./g, '\\.')}/24`),
    );
    assert.equal(readFileSync(join(criDir, 'pods', id, 'hostname'), 'utf8'), 'web\n');
    // The sysctls, in the pod's own network and IPC namespaces; the host's are untouched.
    const sysctl = (ns: string, key: string) =>
      run(['nsenter', '-t', pid, ns, 'cat', `/proc/sys/${key.replaceAll('.', '/')}`]).trim();
    assert.equal(sysctl('-n', 'net.ipv4.ip_unprivileged_port_start'), '80');
    assert.equal(sysctl('-i', 'kernel.shm_rmid_forced'), '1');
    assert.equal(readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim(), '0');
    // The port mapping went to portmap: a DNAT rule for the pod's host port.
    assert.ok(
      run(['iptables-save', '-t', 'nat'])
        .split('\n')
        .some((l) => l.includes(`--dport ${hostPort}`)),
      'portmap made a rule for the host port',
    );
    // Verbose info: the pause container's spec joins the netns file, its cgroup under the parent.
    const spec = (
      seen.info as unknown as {
        runtimeSpec: {
          linux: { namespaces: Array<{ type: string; path?: string }>; cgroupsPath: string };
        };
      }
    ).runtimeSpec;
    assert.deepEqual(
      spec.linux.namespaces.find((n) => n.type === 'network'),
      { type: 'network', path: join(netnsDir, id) },
    );
    assert.equal(spec.linux.cgroupsPath, `${CGROUP_PARENT}/${id}`);

    // Filters: label selector, state, id prefix.
    const byLabel = await cri(['pods', '-q', '--label', 'app=web']);
    assert.equal(byLabel.stdout.trim(), id);
    const otherLabel = await cri(['pods', '-q', '--label', 'app=nope']);
    assert.equal(otherLabel.stdout.trim(), '');
    const notReady = await cri(['pods', '-q', '--state', 'notready']);
    assert.equal(notReady.stdout.trim(), '');
    const byPrefix = await cri(['pods', '-q', '--id', id.slice(0, 12)]);
    assert.equal(byPrefix.stdout.trim(), id);

    for (let i = 0; i < 2; i++) {
      const stopped = await cri(['stopp', id]);
      assert.equal(stopped.status, 0, stopped.stderr);
      const stoppedPod = await inspect(id);
      assert.equal(stoppedPod.status.state, 'SANDBOX_NOTREADY');
      assert.equal(stoppedPod.status.network.ip, '', 'the released IP is no longer reported');
      assert.deepEqual(bridgePorts(BRIDGE), [], 'CNI DEL removed the veth');
      assert.deepEqual(allocations(), [], 'CNI DEL released the IP');
      assert.equal(existsSync(join(netnsDir, id)), false, 'the netns is gone');
      assert.deepEqual(cgroupsOf(id), [], 'the pause container’s cgroup is gone');
    }
    const readyOnes = await cri(['pods', '-q', '--state', 'ready']);
    assert.equal(readyOnes.stdout.trim(), '');

    const removed = await cri(['rmp', id]);
    assert.equal(removed.status, 0, removed.stderr);
    assertNothingLeftOf(id);
    assert.ok(
      !run(['iptables-save', '-t', 'nat']).includes(`--dport ${hostPort}`),
      'no portmap rule left',
    );
    const gone = await cri(['inspectp', id]);
    assert.notEqual(gone.status, 0);
    assert.match(gone.stderr, /NotFound/);
    // crictl rmp asks PodSandboxStatus first: an unknown id is NotFound there.
    const again = await cri(['rmp', id]);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /NotFound/);
    // RemovePodSandbox itself is idempotent, as the CRI has it: removing what is gone succeeds.
    await pods.remove(id);
    const stopUnknown = await cri(['stopp', 'f'.repeat(64)]);
    assert.notEqual(stopUnknown.status, 0);
    assert.match(stopUnknown.stderr, /NotFound/);
  } finally {
    await stopService();
  }
});

test('a host-network pod: no netns, no CNI, the host’s network and hostname', async (t) => {
  if (!binary) return t.skip('crictl not found (set CRICTL)');
  await startService();
  try {
    const ran = await cri([
      'runp',
      podConfig('hostnet', {
        linux: { security_context: { namespace_options: { network: 2, pid: 2, ipc: 2 } } },
      }),
    ]);
    assert.equal(ran.status, 0, ran.stderr);
    const id = ran.stdout.trim();
    const seen = await inspect(id);
    assert.equal(seen.status.state, 'SANDBOX_READY');
    assert.equal(seen.status.network.ip, '');
    assert.equal(seen.info.netns, '');
    assert.equal(existsSync(join(netnsDir, id)), false);
    assert.deepEqual(bridgePorts(BRIDGE), []);
    assert.deepEqual(allocations(), []);
    const pid = String(seen.info.pid);
    for (const ns of ['net', 'pid', 'ipc', 'uts'])
      assert.equal(
        run(['readlink', `/proc/${pid}/ns/${ns}`]),
        run(['readlink', `/proc/self/ns/${ns}`]),
        `the host's ${ns} namespace`,
      );
    assert.notEqual(
      run(['readlink', `/proc/${pid}/ns/mnt`]),
      run(['readlink', '/proc/self/ns/mnt']),
      'its own mount namespace',
    );
    const removed = await cri(['rmp', '-f', id]);
    assert.equal(removed.status, 0, removed.stderr);
    assertNothingLeftOf(id);
  } finally {
    await stopService();
  }
});

test('a failing CNI configuration: runp fails and leaves nothing', async (t) => {
  if (!binary) return t.skip('crictl not found (set CRICTL)');
  const before = new Set(existsSync(join(criDir, 'pods')) ? readdirSync(join(criDir, 'pods')) : []);
  await startService(badConfDir);
  try {
    const ran = await cri(['runp', podConfig('broken')]);
    assert.notEqual(ran.status, 0, 'runp failed');
    assert.match(ran.stderr, /host-local|range|bridge/i);
    const left = readdirSync(join(criDir, 'pods')).filter((f) => !before.has(f));
    assert.deepEqual(left, [], 'no pod record or folder');
    assert.deepEqual(existsSync(netnsDir) ? readdirSync(netnsDir) : [], [], 'no netns');
    assert.deepEqual(bridgePorts(BRIDGE), [], 'no veth');
    assert.deepEqual(allocations(), [], 'no IP allocation');
    assert.deepEqual(readdirSync(join(store.root, 'containers')), [], 'no pause bundle');
    assert.deepEqual((await supervisor!.state()).containers, [], 'no pause container');
    const pods = await cri(['pods', '-q']);
    assert.equal(pods.stdout.trim(), '');
  } finally {
    await stopService();
  }
});

test('a pause container that cannot start: runp fails and undoes the network it had made', async (t) => {
  if (!binary) return t.skip('crictl not found (set CRICTL)');
  await startService(goodConfDir, ['/no/such/pause']);
  try {
    const ran = await cri(['runp', podConfig('nopause')]);
    assert.notEqual(ran.status, 0, 'runp failed');
    assert.match(ran.stderr, /no\/such\/pause|no such file/i);
    assert.deepEqual(readdirSync(join(criDir, 'pods')), [], 'no pod record or folder');
    assert.deepEqual(existsSync(netnsDir) ? readdirSync(netnsDir) : [], [], 'no netns');
    assert.deepEqual(bridgePorts(BRIDGE), [], 'no veth');
    assert.deepEqual(allocations(), [], 'no IP allocation');
    assert.deepEqual(readdirSync(join(store.root, 'containers')), [], 'no pause bundle');
    assert.deepEqual((await supervisor!.state()).containers, [], 'no pause container');
    assert.deepEqual(
      readdirSync(join(criDir, 'cni')).filter((f) => !f.startsWith('.')),
      [],
      'no CNI attachment record',
    );
    assert.deepEqual(
      mountPoints().filter((p) => p.startsWith(`${base}/`)),
      [],
      'no mount under the test folder',
    );
  } finally {
    await stopService();
  }
});

test('bad configs are INVALID_ARGUMENT and make nothing', async (t) => {
  if (!binary) return t.skip('crictl not found (set CRICTL)');
  const { pods } = await startService();
  try {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['bad name', { metadata: { name: 'Bad_Name', namespace: 'default', uid: 'u1' } }],
      ['no namespace', { metadata: { name: 'x', namespace: '', uid: 'u1' } }],
      ['bad hostname', { hostname: 'no spaces allowed' }],
      ['bad DNS server', { dns_config: { servers: ['not-an-ip'] } }],
      ['cgroup parent escaping', { linux: { cgroup_parent: '/a/../../b' } }],
      [
        'net sysctl with host network',
        {
          linux: {
            sysctls: { 'net.ipv4.ip_forward': '1' },
            security_context: { namespace_options: { network: 2 } },
          },
        },
      ],
    ];
    for (const [what, extra] of bad)
      await t.test(what, async () => {
        const ran = await cri(['runp', podConfig('bad', extra)]);
        assert.notEqual(ran.status, 0);
        assert.match(ran.stderr, /InvalidArgument/);
      });
    await assert.rejects(pods.run(undefined), { code: 'ERR_INVALID_POD_CONFIG' });
    const noMetadata = { labels: {}, annotations: {}, portMappings: [] } as unknown as Parameters<
      PodSandboxes['run']
    >[0];
    await assert.rejects(pods.run(noMetadata), { code: 'ERR_INVALID_POD_CONFIG' });
    assert.deepEqual(existsSync(join(criDir, 'pods')) ? readdirSync(join(criDir, 'pods')) : [], []);
    assert.deepEqual((await supervisor!.state()).containers, []);
  } finally {
    await stopService();
  }
});

test('a restarted service (new supervisor, new server, same dirs) knows the pod, READY with its IP, and removes it', async (t) => {
  if (!binary) return t.skip('crictl not found (set CRICTL)');
  await startService();
  let id: string;
  let ip: string;
  try {
    const ran = await cri(['runp', podConfig('survivor')]);
    assert.equal(ran.status, 0, ran.stderr);
    id = ran.stdout.trim();
    ip = (await inspect(id)).status.network.ip;
    assert.notEqual(ip, '');
  } finally {
    // Closing the supervisor leaves its containers running, as a berthd killed would.
    await stopService();
  }
  await startService();
  try {
    const seen = await inspect(id);
    assert.equal(seen.status.state, 'SANDBOX_READY');
    assert.equal(seen.status.network.ip, ip);
    assert.deepEqual(allocations(), [ip]);
    const removed = await cri(['rmp', '-f', id]);
    assert.equal(removed.status, 0, removed.stderr);
    assertNothingLeftOf(id);
  } finally {
    await stopService();
  }
});

test('a service killed with SIGKILL: restarted, it knows the READY pod, its IP and attachment, and removes it all', async (t) => {
  if (!binary) return t.skip('crictl not found (set CRICTL)');
  const childScript = fileURLToPath(new URL('../helpers/cri-pods-child.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      childScript,
      JSON.stringify({
        supervisorDir,
        criDir,
        netnsDir,
        confDir: goodConfDir,
        storeRoot: store.root,
        socket,
        sandboxImage,
        sandboxCommand: SANDBOX_COMMAND,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let id: string;
  let ip: string;
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`the child exited (${code})`)));
    });
    const ran = await cri(['runp', podConfig('killed')]);
    assert.equal(ran.status, 0, ran.stderr);
    id = ran.stdout.trim();
    ip = (await inspect(id)).status.network.ip;
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  await startService();
  try {
    const seen = await inspect(id);
    assert.equal(seen.status.state, 'SANDBOX_READY');
    assert.equal(seen.status.network.ip, ip);
    assert.deepEqual(allocations(), [ip]);
    assert.equal(bridgePorts(BRIDGE).length, 1);
    const removed = await cri(['rmp', '-f', id]);
    assert.equal(removed.status, 0, removed.stderr);
    assertNothingLeftOf(id);
  } finally {
    await stopService();
  }
});

test('a RunPodSandbox cut short after its network was made (kill -9): NOTREADY after restart, stopp and rmp undo it', async (t) => {
  if (!binary) return t.skip('crictl not found (set CRICTL)');
  const { pods } = await startService();
  try {
    // What a berthd killed between the CNI ADD and the pause container leaves: a record, a netns, an attachment.
    const id = randomBytes(32).toString('hex');
    const networks = new PodNetworks(
      new NetnsStore(netnsDir),
      new CniNetwork({ stateDir: join(criDir, 'cni'), confDir: goodConfDir }),
    );
    const network = await networks.setUp({
      sandboxId: id,
      podName: 'cut',
      podNamespace: 'default',
    });
    await new SandboxStore(join(criDir, 'pods')).save({
      id,
      metadata: { name: 'cut', uid: 'uid-cut', namespace: 'default', attempt: 0 },
      labels: { app: 'cut' },
      annotations: {},
      hostname: 'cut',
      logDirectory: '',
      portMappings: [],
      cgroupParent: CGROUP_PARENT,
      sysctls: {},
      namespaces: { network: 'pod', pid: 'pod', ipc: 'pod' },
      runtimeHandler: 'runc',
      createdAt: (BigInt(Date.now()) * 1_000_000n).toString(),
      state: 'NOTREADY',
      podDir: pods.podDir(id),
      pauseContainerId: id,
      sandboxImage,
      network: { netns: network.netns, ips: network.result.podIps },
    });
    assert.equal(allocations().length, 1);
    const listed = await cri(['pods', '-q', '--state', 'notready', '--label', 'app=cut']);
    assert.equal(listed.stdout.trim(), id);
    const stopped = await cri(['stopp', id]);
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.deepEqual(allocations(), [], 'stopp released the IP');
    const removed = await cri(['rmp', id]);
    assert.equal(removed.status, 0, removed.stderr);
    assertNothingLeftOf(id);
  } finally {
    await stopService();
  }
});
