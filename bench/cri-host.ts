/**
 * What bench/cri.ts sets up on the host for both runtimes and takes down
 * again: the bench image in a local registry, a CNI bridge network per
 * runtime, the pods' cgroup parent; and what it reads of the host: the
 * memory of a runtime's processes, what a run left behind.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mountPoints } from '../src/runtime/index.js';
import { layerTar, OciLayout, pushImage, sha256, type Registry } from '../test/helpers/registry.js';

const BUSYBOX = '/bin/busybox';
/** `sleep` as PID 1 of both the pause container and the pod's one container. */
export const SLEEP_FOREVER = ['/bin/sleep', '2147483647'];

/**
 * The bench image, pushed as `bench/busybox:1`: one layer with a static
 * busybox and the links it needs; its command sleeps forever, so it serves
 * as the pods' sandbox (pause) image and as their container's image alike.
 */
export async function pushBenchImage(dir: string, registry: Registry): Promise<string> {
  const layout = new OciLayout(dir);
  const raw = await layerTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', data: readFileSync(BUSYBOX), mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'bin/sleep', type: 'symlink', linkname: 'busybox' },
    { name: 'dev/', type: 'directory' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' },
    { name: 'etc/group', data: 'root:x:0:\n' },
    { name: 'proc/', type: 'directory' },
    { name: 'sys/', type: 'directory' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ]);
  const layer = layout.addBlob(gzipSync(raw), 'application/vnd.oci.image.layer.v1.tar+gzip');
  const config = layout.addBlob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: SLEEP_FOREVER, WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [sha256(raw)] },
    }),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = layout.addBlob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers: [layer],
    }),
    'application/vnd.oci.image.manifest.v1+json',
  );
  layout.writeIndex([{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': '1' } }]);
  return pushImage(dir, '1', registry, 'bench/busybox', '1');
}

export interface BridgeNetwork {
  /** The folder to hand the runtime as its CNI conf dir. */
  confDir: string;
  bridge: string;
  /** Deletes the bridge (the plugins leave it); the veths went with the pods' netns. */
  remove(): void;
}

/** A CNI conflist (bridge + host-local + loopback-free) of its own bridge and /24, IPAM state under `dir`. */
export function writeBridgeNetwork(dir: string, name: string, thirdOctet: number): BridgeNetwork {
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir, { recursive: true });
  const bridge = name.slice(0, 15);
  writeFileSync(
    join(confDir, '10-bench.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: `10.217.${thirdOctet}.0/24` }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(dir, 'ipam'),
          },
        },
      ],
    }),
  );
  return {
    confDir,
    bridge,
    remove() {
      try {
        execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
      } catch {
        // Never made (no pod ran).
      }
    },
  };
}

/** The cgroup v1 hierarchies' (and the unified one's) roots. */
function cgroupRoots(): string[] {
  const roots: string[] = [];
  for (const entry of readdirSync('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', entry);
    if (existsSync(join(dir, 'cgroup.procs'))) roots.push(dir);
  }
  return roots;
}

/** The folders of cgroup `path` (e.g. `/bench-x`) that exist, in any hierarchy. */
export function cgroupDirs(path: string): string[] {
  return cgroupRoots()
    .map((root) => join(root, path))
    .filter((dir) => existsSync(dir));
}

/** Removes the (empty) cgroup parent the pods ran under; what cannot be removed is returned. */
export function removeCgroupParent(path: string): string[] {
  const left: string[] = [];
  for (const dir of cgroupDirs(path)) {
    try {
      rmdirSync(dir);
    } catch {
      left.push(dir);
    }
  }
  return left;
}

export interface ProcessMemory {
  pid: number;
  name: string;
  rssKb: number;
  pssKb: number;
}

/** VmRSS and (from smaps_rollup) the proportional set size: RSS counts shared pages once per process. */
export function processMemory(pid: number): ProcessMemory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (text: string, name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    return { pid, name, rssKb: field(status, 'VmRSS'), pssKb: field(rollup, 'Pss') };
  } catch {
    return undefined;
  }
}

export interface HostProcess {
  pid: number;
  ppid: number;
  /** Basename of the executable ('' when unreadable). */
  exe: string;
  argv: string[];
  cwd: string;
}

export function hostProcesses(): HostProcess[] {
  const processes: HostProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      let exe = '';
      let cwd = '';
      try {
        exe = basename(readlinkSync(`/proc/${pid}/exe`));
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // A kernel thread, or another user's.
      }
      processes.push({ pid, ppid, exe, argv, cwd });
    } catch {
      // Gone meanwhile.
    }
  }
  return processes;
}

export interface MemorySum {
  count: number;
  rssMb: number;
  pssMb: number;
}

export function sumMemory(pids: number[]): MemorySum {
  const memories = pids.map(processMemory).filter((m): m is ProcessMemory => m !== undefined);
  const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
  return {
    count: memories.length,
    rssMb: mb(memories.reduce((sum, m) => sum + m.rssKb, 0)),
    pssMb: mb(memories.reduce((sum, m) => sum + m.pssKb, 0)),
  };
}

/** Mount points under `dir` (a runtime's root, state, or the bench's temp folder). */
export function mountsUnder(dir: string): string[] {
  return mountPoints().filter((point) => point.startsWith(`${dir}/`));
}

/** Unmounts what a crashed run left under `dir`, deepest first, lazily: the folder is removed next. */
export function unmountUnder(dir: string): void {
  for (const point of mountsUnder(dir).sort((a, b) => b.length - a.length)) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // Already gone with its parent.
    }
  }
}
