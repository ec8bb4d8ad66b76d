/**
 * Garbage collection: keeps every blob and layer an image record names, and
 * every layer a container's `berth-rootfs.json` names; removes the rest,
 * every ingest file (a .partial is only a download's prefix), every
 * unfinished layer dir and every temp file of a record write. Runs under the store lock, so no pull is midway.
 */
import { lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { storeError } from './errors.js';
import { listDir, readJsonIfExists, treeSize } from './fsutil.js';
import { digestHex, type StoreLayout } from './layout.js';
import { readRecords } from './records.js';

export interface PruneResult {
  blobs: number;
  layers: number;
  bytes: number;
}

interface RootfsRecord {
  image?: string;
  layers?: string[];
}

/** Every container rootfs record under `<root>/containers/`. */
export async function containerRecords(
  layout: StoreLayout,
): Promise<{ id: string; record: RootfsRecord }[]> {
  const found: { id: string; record: RootfsRecord }[] = [];
  for (const id of await listDir(layout.containersDir)) {
    try {
      const record = await readJsonIfExists<RootfsRecord>(
        join(layout.containersDir, id, 'berth-rootfs.json'),
      );
      if (record) found.push({ id, record });
    } catch {
      // An unreadable record keeps nothing alive and blocks nothing.
    }
  }
  return found;
}

function hexOrUndefined(digest: string): string | undefined {
  try {
    return digestHex(digest);
  } catch {
    return undefined;
  }
}

async function remove(path: string): Promise<number> {
  const size = await treeSize(path);
  await rm(path, { recursive: true, force: true }).catch((err: unknown) => {
    throw storeError('removing', path, err);
  });
  return size;
}

export async function prune(layout: StoreLayout): Promise<PruneResult> {
  const keepBlobs = new Set<string>();
  const keepLayers = new Set<string>();
  for (const record of await readRecords(layout)) {
    for (const digest of [
      record.digest,
      record.id,
      ...record.layers.map((l) => l.digest),
      ...(record.extraBlobs ?? []),
    ]) {
      const hex = hexOrUndefined(digest);
      if (hex) keepBlobs.add(hex);
    }
    for (const layer of record.layers) {
      const hex = hexOrUndefined(layer.chainId);
      if (hex) keepLayers.add(hex);
    }
  }
  for (const { record } of await containerRecords(layout)) {
    for (const chainId of Array.isArray(record.layers) ? record.layers : []) {
      const hex = typeof chainId === 'string' ? hexOrUndefined(chainId) : undefined;
      if (hex) keepLayers.add(hex);
    }
  }
  const result: PruneResult = { blobs: 0, layers: 0, bytes: 0 };
  for (const name of await listDir(layout.blobsDir)) {
    if (keepBlobs.has(name)) continue;
    result.bytes += await remove(join(layout.blobsDir, name));
    result.blobs++;
  }
  for (const name of await listDir(layout.layersDir)) {
    if (keepLayers.has(name)) continue;
    result.bytes += await remove(join(layout.layersDir, name));
    result.layers++;
  }
  for (const name of await listDir(layout.layersTmpDir)) {
    result.bytes += await remove(join(layout.layersTmpDir, name));
  }
  for (const name of await listDir(layout.imagesDir)) {
    // Temp files of record writes that a crash cut short.
    if (name.startsWith('.')) result.bytes += await remove(join(layout.imagesDir, name));
  }
  for (const name of await listDir(layout.ingestDir)) {
    const path = join(layout.ingestDir, name);
    if ((await lstat(path).catch(() => undefined)) === undefined) continue;
    result.bytes += await remove(path);
  }
  return result;
}
