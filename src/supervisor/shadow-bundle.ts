/**
 * Shadow bundles: the converted copy of an old client's bundle that the
 * runtime is given instead (docs/DESIGN.md, "Old clients on a new runtime"). The
 * client's files are only ever read. The copy is a lone config.json whose
 * root.path points at the client's rootfs, so it costs one small file.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  InvalidBundleConfigError,
  isErrnoException,
  readBundleConfigText,
} from '../runtime/index.js';
import { convertBundleConfig } from './legacy.js';

/** The folder under the state root that holds the shadow bundles; a dot name is never a container id. */
export const SHADOW_BUNDLES_DIR = '.bundles';

/** Where container `id`'s shadow bundle lives under the state root `stateDir`. */
export function shadowBundleDir(stateDir: string, id: string): string {
  return join(stateDir, SHADOW_BUNDLES_DIR, id);
}

export interface PreparedBundle {
  /** The bundle to hand the runtime: `shadowDir` when converted, else the client's own. */
  path: string;
  /** What was converted; empty when the client's bundle is used as is. */
  changes: string[];
}

/**
 * Reads `<bundleDir>/config.json` and, when it is in a form today's runtime
 * misreads, writes the converted `<shadowDir>/config.json` (atomically, folders
 * made as needed) and returns `shadowDir`; otherwise returns `bundleDir`.
 *
 * A config already in `shadowDir` is replaced: call this only for a container
 * id that is not in use.
 */
export function prepareBundle(bundleDir: string, shadowDir: string): PreparedBundle {
  const bundle = resolve(bundleDir);
  const { path: configPath, text } = readBundleConfigText(bundle);
  let converted;
  try {
    converted = convertBundleConfig(text, bundle);
  } catch (err) {
    if (!(err instanceof InvalidBundleConfigError)) throw err;
    throw new InvalidBundleConfigError(`${configPath}: ${err.message}`, { cause: err });
  }
  if (converted === undefined) return { path: bundle, changes: [] };
  const shadow = resolve(shadowDir);
  mkdirSync(shadow, { recursive: true, mode: 0o711 });
  writeFileAtomic(join(shadow, 'config.json'), converted.text);
  return { path: shadow, changes: converted.changes };
}

/**
 * Removes a shadow bundle (no error if there is none), and the shadow bundles'
 * folder with it once empty, so that a state root holds nothing of a deleted
 * container.
 */
export function removeShadowBundle(shadowDir: string): void {
  const shadow = resolve(shadowDir);
  rmSync(shadow, { recursive: true, force: true });
  const parent = dirname(shadow);
  if (basename(parent) !== SHADOW_BUNDLES_DIR) return;
  try {
    rmdirSync(parent);
  } catch (err) {
    if (!isErrnoException(err, 'ENOTEMPTY') && !isErrnoException(err, 'ENOENT')) throw err;
  }
}

/**
 * A crash at any instant leaves the old config or the new one, never a torn
 * one: temporary file beside it, fsync, rename, fsync of the folder. Owner-only:
 * a config's environment may carry secrets.
 */
function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed, or never made.
    }
    throw err;
  }
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
