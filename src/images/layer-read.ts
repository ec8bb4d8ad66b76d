/**
 * Reads one file of an image through its unpacked layers, as the overlay
 * would show it, without mounting: the top layer first, a whiteout hides
 * what is below it, an opaque directory hides the lower layers' contents of
 * it. Both whiteout forms count: overlayfs's own (a 0/0 character device, the
 * `trusted.overlay.opaque` xattr) and the OCI tar's (`.wh.NAME`,
 * `.wh..wh..opq`). Symlinks are followed inside the image, never on the host.
 */
import { execFile } from 'node:child_process';
import { lstat, readFile, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const MAX_SYMLINKS = 8;
/** /etc/passwd and /etc/group are small; a bigger one is not read whole into memory. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch {
    return undefined;
  }
}

function isOverlayWhiteout(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0;
}

function hasOpaqueXattr(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'getfattr',
      ['--only-values', '--absolute-names', '-n', 'trusted.overlay.opaque', dir],
      { timeout: 5000 },
      (err, stdout) => resolve(!err && String(stdout).trim() === 'y'),
    );
  });
}

/**
 * Unpacked layers never change (a chain id names their content), so what a
 * folder's opacity was it stays: every container of an image after the first
 * spawns no getfattr. Bounded: the oldest answers go first.
 */
const opaqueCache = new Map<string, boolean>();
const OPAQUE_CACHE_MAX = 4096;

async function isOpaque(dir: string): Promise<boolean> {
  const known = opaqueCache.get(dir);
  if (known !== undefined) return known;
  const opaque =
    (await lstatOrUndefined(posix.join(dir, OPAQUE_MARKER))) !== undefined ||
    (await hasOpaqueXattr(dir));
  if (opaqueCache.size >= OPAQUE_CACHE_MAX) opaqueCache.delete(opaqueCache.keys().next().value!);
  opaqueCache.set(dir, opaque);
  return opaque;
}

type LayerAnswer =
  | { kind: 'file'; path: string; size: number }
  | { kind: 'symlink'; target: string }
  | { kind: 'hidden' }
  | { kind: 'absent' };

/** What one layer says about `parts` (an image path split into names). */
async function lookInLayer(layer: string, parts: string[]): Promise<LayerAnswer> {
  let dir = layer;
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!;
    if (await lstatOrUndefined(posix.join(dir, WHITEOUT_PREFIX + name))) return { kind: 'hidden' };
    const path = posix.join(dir, name);
    const stats = await lstatOrUndefined(path);
    if (!stats) return i > 0 && (await isOpaque(dir)) ? { kind: 'hidden' } : { kind: 'absent' };
    if (isOverlayWhiteout(stats)) return { kind: 'hidden' };
    const last = i === parts.length - 1;
    if (stats.isSymbolicLink()) {
      const target = await readlink(path);
      const rest = parts.slice(i + 1);
      const base = posix.isAbsolute(target)
        ? target
        : posix.join('/', ...parts.slice(0, i), target);
      return { kind: 'symlink', target: posix.join(base, ...rest) };
    }
    if (last) return stats.isFile() ? { kind: 'file', path, size: stats.size } : { kind: 'hidden' };
    // A file where a directory should be hides everything below it.
    if (!stats.isDirectory()) return { kind: 'hidden' };
    dir = path;
  }
  return { kind: 'absent' };
}

/**
 * The contents of `imagePath` (absolute, inside the image) as the container
 * would see it; undefined when no layer has it, or a whiteout hides it.
 * `layers` are the layers' unpacked folders, lowest first.
 */
export async function readImageFile(
  layers: readonly string[],
  imagePath: string,
): Promise<string | undefined> {
  let wanted = posix.normalize(posix.join('/', imagePath));
  for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
    const parts = wanted.split('/').filter(Boolean);
    if (parts.length === 0) return undefined;
    let next: string | undefined;
    for (const layer of [...layers].reverse()) {
      const answer = await lookInLayer(layer, parts);
      if (answer.kind === 'absent') continue;
      if (answer.kind === 'hidden') return undefined;
      if (answer.kind === 'file') {
        if (answer.size > MAX_FILE_BYTES) return undefined;
        return readFile(answer.path, 'utf8');
      }
      next = posix.normalize(answer.target);
      break;
    }
    if (next === undefined) return undefined;
    wanted = next;
  }
  return undefined;
}
