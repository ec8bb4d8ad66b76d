/**
 * The two CRI runtimes bench/cri.ts compares, each started on folders of its
 * own and stopped by PID: berthd with `--cri-listen`, and containerd 1.6
 * (Debian's package) with its CRI plugin, under `tini -s` so that the shims
 * it leaves are reaped. Each says which processes are its daemon and which
 * its shims, for the memory figures.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriClient } from './cri-client.js';
import { hostProcesses } from './cri-host.js';

export const CONTAINERD = '/usr/bin/containerd';
export const CNI_BIN_DIR = '/usr/lib/cni';
const berthdPath = fileURLToPath(new URL('../src/daemon/berthd.js', import.meta.url));

export interface CriRuntime {
  name: 'berth' | 'containerd';
  client: CriClient;
  /** The daemon's own process (berthd; containerd). */
  daemonPids(): number[];
  /** Its per-pod (containerd) or per-process (berth, with its shim spawner) shims. */
  shimPids(): number[];
  /** Folders whose mounts are the runtime's (for the left-behind check). */
  dirs: string[];
  /** Its folder of pods' network namespaces (containerd: the host's, shared). */
  netnsDir: string;
  /** What it logged (the tail). */
  log(): string;
  /** SIGTERM by PID, then waits for the exit. */
  stop(): Promise<void>;
}

interface Spawned {
  child: ChildProcess;
  log(): string;
  exited: Promise<void>;
}

function spawnLogged(command: string, args: string[]): Spawned {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-200_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, log: () => stderr, exited };
}

/** Polls Version until the socket answers; the child's exit or `timeoutMs` ends the wait. */
async function waitServing(client: CriClient, spawned: Spawned, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) {
      throw new Error(`exited before serving: ${spawned.log()}`);
    }
    try {
      await client.version();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`not serving: ${String(err)}: ${spawned.log()}`);
      await sleep(50);
    }
  }
}

async function stopSpawned(spawned: Spawned, pid: number): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  process.kill(pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (spawned.child.exitCode === null) process.kill(spawned.child.pid!, 'SIGKILL');
  }, 20_000);
  await spawned.exited;
  clearTimeout(timer);
}

export interface BerthdOptions {
  dir: string;
  sandboxImage: string;
  cniConfDir: string;
  /** More flags of berthd's. */
  flags?: string[];
}

export async function startBerthd(options: BerthdOptions): Promise<CriRuntime> {
  const stateDir = join(options.dir, 'state');
  const socket = join(options.dir, 'cri.sock');
  mkdirSync(options.dir, { recursive: true });
  const spawned = spawnLogged(berthdPath, [
    '--state-dir',
    stateDir,
    '--listen',
    `unix://${join(options.dir, 'berthd.sock')}`,
    '--cri-listen',
    `unix://${socket}`,
    '--store',
    join(options.dir, 'store'),
    '--cni-conf-dir',
    options.cniConfDir,
    '--cni-bin-dir',
    CNI_BIN_DIR,
    '--sandbox-image',
    options.sandboxImage,
    '--netns-dir',
    join(options.dir, 'netns'),
    '--log-level',
    'warn',
    ...(options.flags ?? []),
  ]);
  const client = new CriClient(`unix://${socket}`);
  const pid = spawned.child.pid!;
  try {
    await waitServing(client, spawned);
  } catch (err) {
    client.close();
    await stopSpawned(spawned, pid);
    throw new Error(`berthd: ${(err as Error).message}`);
  }
  return {
    name: 'berth',
    client,
    daemonPids: () => [pid],
    // A shim runs in its process folder under the state dir; berthd forks them through one
    // resident helper (`berth-shim --spawner`), counted with them.
    shimPids: () =>
      hostProcesses()
        .filter(
          (p) =>
            p.exe === 'berth-shim' &&
            (p.cwd.startsWith(`${stateDir}/`) || (p.ppid === pid && p.argv.includes('--spawner'))),
        )
        .map((p) => p.pid),
    dirs: [options.dir],
    netnsDir: join(options.dir, 'netns'),
    log: spawned.log,
    async stop() {
      client.close();
      await stopSpawned(spawned, pid);
    },
  };
}

/** Debian's containerd (1.6 on bookworm), for the comparison only: berth needs none of it. */
function installContainerd(): void {
  console.log(`${CONTAINERD} is missing: apt-get install containerd (Debian's 1.6)`);
  const result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'containerd'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0 || !existsSync(CONTAINERD)) {
    throw new Error(
      `could not install containerd (apt-get exited ${result.status}): run apt-get update first?`,
    );
  }
}

export interface ContainerdOptions {
  dir: string;
  sandboxImage: string;
  /** host:port of the plain-HTTP registry. */
  registryHost: string;
  cniConfDir: string;
}

/** containerd's config: its own root, state and socket; the CRI plugin on cgroupfs, runc, overlayfs. */
function containerdConfig(options: ContainerdOptions, socket: string, hostsDir: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${JSON.stringify(join(options.dir, 'root'))}
state = ${JSON.stringify(join(options.dir, 'state'))}
# Snapshotters this host has no use for, and /opt/containerd.
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${JSON.stringify(socket)}

[debug]
  level = "warn"

[${cri}]
  sandbox_image = ${JSON.stringify(options.sandboxImage)}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # This host refuses a lower oom_score_adj than containerd's own (no CAP_SYS_RESOURCE here):
  # the sandboxes' -998 made runc init fail.
  restrict_oom_score_adj = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  BinaryName = "/usr/sbin/runc"
  Root = ${JSON.stringify(join(options.dir, 'runc'))}
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = ${JSON.stringify(CNI_BIN_DIR)}
  conf_dir = ${JSON.stringify(options.cniConfDir)}
  max_conf_num = 1

[${cri}.registry]
  config_path = ${JSON.stringify(hostsDir)}
`;
}

export async function startContainerd(options: ContainerdOptions): Promise<CriRuntime> {
  if (!existsSync(CONTAINERD)) installContainerd();
  mkdirSync(options.dir, { recursive: true });
  const socket = join(options.dir, 'containerd.sock');
  // The registry over plain HTTP: a hosts.toml for its host:port (containerd's certs.d layout).
  const hostsDir = join(options.dir, 'certs.d');
  mkdirSync(join(hostsDir, options.registryHost), { recursive: true });
  writeFileSync(
    join(hostsDir, options.registryHost, 'hosts.toml'),
    `server = "http://${options.registryHost}"\n\n[host."http://${options.registryHost}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
  const configFile = join(options.dir, 'config.toml');
  writeFileSync(configFile, containerdConfig(options, socket, hostsDir));
  // The v2 shims put their sockets in /run/containerd/s whatever the config: removed at stop when
  // empty and made by this containerd.
  const shimSocketDirs = ['/run/containerd/s', '/run/containerd'].filter((d) => !existsSync(d));
  const spawned = spawnLogged('tini', ['-s', '--', CONTAINERD, '--config', configFile]);
  const tiniPid = spawned.child.pid!;
  const client = new CriClient(`unix://${socket}`);
  try {
    await waitServing(client, spawned);
  } catch (err) {
    client.close();
    await stopSpawned(spawned, tiniPid);
    throw new Error(`containerd: ${(err as Error).message}`);
  }
  const containerdPid = hostProcesses().find(
    (p) => p.ppid === tiniPid && p.exe === 'containerd',
  )?.pid;
  if (containerdPid === undefined) throw new Error('containerd: no process under tini');
  return {
    name: 'containerd',
    client,
    daemonPids: () => [containerdPid],
    // One shim per pod: `containerd-shim-runc-v2 -namespace k8s.io -address <socket> ...`.
    shimPids: () =>
      hostProcesses()
        .filter((p) => p.exe === 'containerd-shim-runc-v2' && p.argv.includes(socket))
        .map((p) => p.pid),
    dirs: [options.dir],
    // containerd 1.6's CRI binds pods' netns under /var/run/netns (cni-<uuid>), not configurable.
    netnsDir: '/run/netns',
    log: spawned.log,
    async stop() {
      client.close();
      // tini forwards SIGTERM to containerd and exits with it.
      await stopSpawned(spawned, tiniPid);
      for (const dir of shimSocketDirs) {
        try {
          rmdirSync(dir);
        } catch {
          // Not empty: a shim still runs (reported as left behind).
        }
      }
    },
  };
}
