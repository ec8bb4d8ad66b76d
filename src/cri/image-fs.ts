/**
 * ImageFsInfo's figures: the bytes and inodes the image store takes on its
 * filesystem, counted by walking it. Hard links count once (layers share
 * files that way) and the walk stays on the store's filesystem: a container's
 * overlay mounted under it is not the store's to count.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrnoException } from '../runtime/index.js';

export interface StoreUsage {
  /** st_blocks × 512 of every file, folder and link, each inode once. */
  usedBytes: bigint;
  inodesUsed: bigint;
}

/** What `root` takes on disk; entries that vanish during the walk (a prune, a pull) are skipped. */
export async function storeUsage(root: string, signal?: AbortSignal): Promise<StoreUsage> {
  const rootStat = await lstat(root, { bigint: true });
  const seen = new Set<bigint>();
  let usedBytes = 0n;
  const pending: string[] = [root];
  seen.add(rootStat.ino);
  usedBytes += rootStat.blocks * 512n;
  while (pending.length) {
    signal?.throwIfAborted();
    const dir = pending.pop()!;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (isErrnoException(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) continue;
      throw err;
    }
    for (const name of names) {
      const path = join(dir, name);
      let stat;
      try {
        stat = await lstat(path, { bigint: true });
      } catch (err) {
        if (isErrnoException(err) && err.code === 'ENOENT') continue;
        throw err;
      }
      if (stat.dev !== rootStat.dev || seen.has(stat.ino)) continue;
      seen.add(stat.ino);
      usedBytes += stat.blocks * 512n;
      if (stat.isDirectory()) pending.push(path);
    }
  }
  return { usedBytes, inodesUsed: BigInt(seen.size) };
}
