/** Small filesystem steps the store repeats: atomic JSON writes, reads that tolerate absence, walks. */
import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { storeError } from './errors.js';

export function tempName(prefix = 'tmp'): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Writes to a temp file beside `path`, fsyncs, then renames: readers see the old file or the whole new one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${tempName()}`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => {});
    throw storeError('writing', path, err);
  }
}

export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw storeError('reading', path, err);
  }
  return JSON.parse(text) as T;
}

export async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw storeError('listing', path, err);
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Bytes used by a tree (file sizes, without following symlinks). */
export async function treeSize(path: string): Promise<number> {
  let total = 0;
  const stack = [path];
  while (stack.length) {
    const current = stack.pop()!;
    const info = await lstat(current).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) {
      for (const name of await listDir(current)) stack.push(join(current, name));
    } else if (info.isFile()) {
      total += info.size;
    }
  }
  return total;
}
