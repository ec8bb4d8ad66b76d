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
import { defaultBundleConfig } from '../src/index.js';

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

/** The library's default config with a test's process, limits and namespaces. */
export function bundleConfig(
  opts: BundleOptions = {},
  rootfs: string = ROOTFS,
): Record<string, unknown> {
  const config = defaultBundleConfig(rootfs);
  Object.assign(config.process, {
    terminal: opts.terminal ?? false,
    args: opts.args ?? ['true'],
    env: opts.env ?? ['PATH=/bin', 'TERM=xterm'],
    cwd: opts.cwd ?? '/',
  });
  // Some tests write more to /tmp than runc's 64 MB.
  const tmp = config.mounts.find((m) => m.destination === '/tmp');
  if (tmp) tmp.options = ['nosuid', 'nodev', 'mode=1777', 'size=262144k'];
  if (opts.memoryLimit !== undefined) {
    // Swap equal to the limit: the container cannot escape the limit by swapping.
    config.linux.resources.memory = { limit: opts.memoryLimit, swap: opts.memoryLimit };
  }
  if (opts.hostNetwork)
    config.linux.namespaces = config.linux.namespaces.filter((ns) => ns.type !== 'network');
  if (opts.cgroupsPath !== undefined) config.linux.cgroupsPath = opts.cgroupsPath;
  return config;
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
