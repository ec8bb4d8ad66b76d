/**
 * A rootfs the container owns (containerd 1.x's idea, kept generic): a bundle
 * may hold `berth-rootfs.json` with mounts to make on its `root.path` before
 * the runtime's create, and to undo when the start is refused or the
 * container is deleted; `removeBundle` also removes the bundle folder then.
 * The images layer writes such bundles; this library never knows about images.
 */
import { execFile } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  InvalidBundleConfigError,
  RootfsMountError,
  StateWriteError,
  isErrnoException,
} from './errors.js';
import type { BundleConfig } from './oci/spec.js';
import { parseMountInfo } from './procfs.js';

/** The file in a bundle folder that gives the container its own rootfs. */
export const RootfsFile = 'berth-rootfs.json';

/** Bounds each mount/umount call: a hung filesystem must not hang a start or a delete. */
const MOUNT_TIMEOUT_MS = 10_000;
/** The kernel copies mount data into one page: longer overlay options are refused. */
const MOUNT_DATA_MAX = 4095;

export interface RootfsMount {
  type: string;
  source: string;
  options: string[];
  /** The folder the mount is made from, so that long lowerdir lists can be relative (as containerd does). */
  cwd?: string;
}

/** What state.json keeps of a bundle's berth-rootfs.json: enough to undo it after a restart. */
export interface OwnedRootfs {
  /** Absolute mount point: the bundle's root.path. */
  target: string;
  mounts: RootfsMount[];
  /** The bundle folder goes too when the container is deleted. */
  removeBundle: boolean;
}

function fail(path: string, message: string): never {
  throw new InvalidBundleConfigError(`${path}: ${message}`);
}

function checkMount(path: string, value: unknown, index: number): RootfsMount {
  const where = `mounts[${index}]`;
  if (typeof value !== 'object' || value === null) fail(path, `${where} must be an object`);
  const { type, source, options, cwd } = value as Record<string, unknown>;
  if (typeof type !== 'string' || !/^[a-z0-9_.]+$/.test(type))
    fail(path, `${where}.type must be a filesystem type name`);
  if (typeof source !== 'string' || source === '')
    fail(path, `${where}.source must be a non-empty string`);
  const list = options ?? [];
  if (!Array.isArray(list) || !list.every((o) => typeof o === 'string' && !o.includes(',')))
    fail(path, `${where}.options must be a list of strings without commas`);
  if (list.join(',').length > MOUNT_DATA_MAX)
    fail(path, `${where}.options are longer than one page: use paths relative to "cwd"`);
  if (cwd !== undefined && (typeof cwd !== 'string' || !cwd.startsWith('/')))
    fail(path, `${where}.cwd must be an absolute path`);
  return { type, source, options: list as string[], ...(cwd !== undefined ? { cwd } : {}) };
}

/**
 * The bundle's owned rootfs, or undefined when it has no berth-rootfs.json.
 * A file that is there but wrong is an InvalidBundleConfigError.
 */
export function readOwnedRootfs(bundle: string, config: BundleConfig): OwnedRootfs | undefined {
  const path = join(bundle, RootfsFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return undefined;
    throw new InvalidBundleConfigError(`${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(path, `not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(path, 'must hold a JSON object');
  const { mounts, removeBundle } = value as Record<string, unknown>;
  if (!Array.isArray(mounts) || mounts.length === 0)
    fail(path, '"mounts" must be a non-empty list');
  if (config.root === undefined) fail(path, 'the bundle config has no "root.path" to mount on');
  return {
    target: resolve(bundle, config.root.path),
    mounts: mounts.map((m, i) => checkMount(path, m, i)),
    removeBundle: removeBundle === true,
  };
}

/** Checks a record's `rootfs` field as it comes back from state.json. */
export function parseOwnedRootfs(path: string, value: unknown): OwnedRootfs | undefined {
  if (value === undefined) return undefined;
  const { target, mounts, removeBundle } = (value ?? {}) as Record<string, unknown>;
  if (typeof target !== 'string' || !target.startsWith('/') || !Array.isArray(mounts))
    fail(path, '"rootfs" must have an absolute "target" and a list of "mounts"');
  return {
    target,
    mounts: mounts.map((m, i) => checkMount(path, m, i)),
    removeBundle: removeBundle === true,
  };
}

/**
 * Tells the container's rootfs which container owns it (state root and id):
 * a rootfs folder nobody created a container for is garbage, one that names
 * a container is not (the images layer's prune reads this).
 */
export function recordRootfsOwner(bundle: string, owner: { root: string; id: string }): void {
  const path = join(bundle, RootfsFile);
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const temporary = `${path}.tmp-${process.pid}`;
    writeFileSync(temporary, JSON.stringify({ ...value, owner }));
    renameSync(temporary, path);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new StateWriteError(
      path,
      errno,
      `cannot record the owner in ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function run(file: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      file,
      args,
      { timeout: MOUNT_TIMEOUT_MS, killSignal: 'SIGKILL', ...(cwd ? { cwd } : {}) },
      (err, _stdout, stderr) => {
        if (!err) return resolvePromise();
        const words = String(stderr).trim() || err.message;
        reject(new RootfsMountError(`${file} ${args.join(' ')}: ${words}`, { cause: err }));
      },
    );
  });
}

/** Mount points of this mount namespace (field 5 of mountinfo). */
export function mountPoints(): string[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).map(
    (entry) => entry.mountPoint,
  );
}

export function isMounted(target: string): boolean {
  return mountPoints().includes(target);
}

/**
 * Makes the rootfs's mounts on its target. Already mounted (a start after a
 * refused start that could not unmount, or a restore) is left as it is.
 * Returns whether this call mounted anything, so a refused start undoes only
 * its own mounts.
 */
export async function mountRootfs(rootfs: OwnedRootfs): Promise<boolean> {
  if (isMounted(rootfs.target)) return false;
  let made = 0;
  try {
    for (const mount of rootfs.mounts) {
      const args = ['-t', mount.type, mount.source, rootfs.target];
      if (mount.options.length) args.splice(2, 0, '-o', mount.options.join(','));
      await run('mount', args, mount.cwd);
      made += 1;
    }
  } catch (err) {
    if (made > 0) await unmountRootfs(rootfs).catch(() => {});
    throw err;
  }
  return true;
}

/**
 * Undoes every mount on the target (stacked ones too); a busy one (a shell
 * left in it) is detached lazily, so it is gone from the namespace at once.
 */
export async function unmountRootfs(rootfs: OwnedRootfs): Promise<void> {
  for (let left = rootfs.mounts.length + 1; left > 0 && isMounted(rootfs.target); left--) {
    try {
      await run('umount', [rootfs.target]);
    } catch {
      await run('umount', ['-l', rootfs.target]);
    }
  }
}

/**
 * At delete: unmounts, then removes the bundle folder if it asked for it,
 * never while anything is still mounted under it (a recursive remove would
 * go into the mount).
 */
export async function releaseRootfs(rootfs: OwnedRootfs, bundle: string): Promise<void> {
  await unmountRootfs(rootfs);
  if (!rootfs.removeBundle) return;
  const prefix = bundle.endsWith('/') ? bundle : `${bundle}/`;
  if (mountPoints().some((point) => point === bundle || point.startsWith(prefix))) return;
  rmSync(bundle, { recursive: true, force: true });
}
