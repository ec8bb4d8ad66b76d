/**
 * Builds OCI bundles for tests, benchmarks and the demo: one read-only busybox
 * rootfs shared by every bundle, and a config.json per bundle.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';
/** Shared rootfs; outside the repo so that a clean checkout does not carry it. */
export const ROOTFS = process.env.BERTH_TEST_ROOTFS ?? '/var/tmp/berth-busybox-rootfs';

/** Builds the busybox rootfs once (idempotent, safe against a concurrent builder). */
export function ensureRootfs(rootfs: string = ROOTFS): string {
  if (existsSync(join(rootfs, 'bin', 'sh'))) return rootfs;
  if (!existsSync(BUSYBOX)) {
    throw new Error(
      `${BUSYBOX} is missing: install Debian's busybox-static (scripts/setup.sh does)`,
    );
  }
  const staging = mkdtempSync(`${rootfs}.tmp-`);
  for (const dir of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'root']) {
    mkdirSync(join(staging, dir), { recursive: true });
  }
  copyFileSync(BUSYBOX, join(staging, 'bin', 'busybox'));
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  for (const applet of applets) {
    if (applet === 'busybox') continue;
    symlinkSync('busybox', join(staging, 'bin', applet));
  }
  writeFileSync(join(staging, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(staging, 'etc', 'group'), 'root:x:0:\ntty:x:5:\n');
  try {
    renameSync(staging, rootfs);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(rootfs, 'bin', 'sh'))) throw err;
  }
  return rootfs;
}

export interface BundleOptions {
  args?: string[];
  env?: string[];
  cwd?: string;
  terminal?: boolean;
  /** Memory limit in bytes (linux.resources.memory.limit). */
  memoryLimit?: number;
  /** linux.cgroupsPath; default lets the runtime choose. */
  cgroupsPath?: string;
  /** Shares the host's network namespace (the default gives the container its own). */
  hostNetwork?: boolean;
}

export function bundleConfig(
  opts: BundleOptions = {},
  rootfs: string = ROOTFS,
): Record<string, unknown> {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const resources: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (opts.memoryLimit !== undefined) {
    // Swap equal to the limit: the container cannot escape the limit by swapping.
    resources.memory = { limit: opts.memoryLimit, swap: opts.memoryLimit };
  }
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (!opts.hostNetwork) namespaces.push({ type: 'network' });
  const linux: Record<string, unknown> = {
    resources,
    namespaces,
    maskedPaths: [
      '/proc/acpi',
      '/proc/asound',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/sys/firmware',
      '/proc/scsi',
    ],
    readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  };
  if (opts.cgroupsPath !== undefined) linux.cgroupsPath = opts.cgroupsPath;
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: opts.terminal ?? false,
      user: { uid: 0, gid: 0 },
      args: opts.args ?? ['true'],
      env: opts.env ?? ['PATH=/bin', 'TERM=xterm'],
      cwd: opts.cwd ?? '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      // At or below the host's hard limit: raising it is refused on these machines.
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: 'berth',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', 'size=262144k'],
      },
      {
        destination: '/sys',
        type: 'sysfs',
        source: 'sysfs',
        options: ['nosuid', 'noexec', 'nodev', 'ro'],
      },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux,
  };
}

/** Writes a bundle (config.json only; the rootfs is shared) into `dir`. */
export function writeBundle(dir: string, opts: BundleOptions = {}): string {
  const rootfs = ensureRootfs();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(bundleConfig(opts, rootfs), null, 2));
  return dir;
}

/** A fresh temporary folder for one test's bundles and state root. */
export function tempDir(prefix = 'berth-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
