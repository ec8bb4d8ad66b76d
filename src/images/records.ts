/** Image records: `images/<sha256 of name>.json`, one per name (untagged images by id), written atomically. */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { storeError } from './errors.js';
import { listDir, readJsonIfExists, writeFileAtomic } from './fsutil.js';
import type { StoreLayout } from './layout.js';
import type { Image } from './types.js';

/** What a record holds beyond the Image: the blobs it keeps (an index pulled through, say). */
export interface ImageRecord extends Image {
  /** Digests of blobs this image keeps besides its manifest, config and layers (the index it came from). */
  extraBlobs?: string[];
}

export function recordKey(image: Pick<Image, 'name' | 'id'>): string {
  return image.name || image.id;
}

export async function writeRecord(layout: StoreLayout, record: ImageRecord): Promise<void> {
  await mkdir(layout.imagesDir, { recursive: true }).catch((err: unknown) => {
    throw storeError('creating', layout.imagesDir, err);
  });
  await writeFileAtomic(layout.record(recordKey(record)), `${JSON.stringify(record, null, 2)}\n`);
}

export async function readRecords(layout: StoreLayout): Promise<ImageRecord[]> {
  const records: ImageRecord[] = [];
  for (const file of await listDir(layout.imagesDir)) {
    if (!file.endsWith('.json') || file.startsWith('.')) continue;
    try {
      const record = await readJsonIfExists<ImageRecord>(join(layout.imagesDir, file));
      if (record) records.push(record);
    } catch {
      // A record that does not parse names nothing; prune leaves it for a human to see.
    }
  }
  return records.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

export async function deleteRecord(
  layout: StoreLayout,
  image: Pick<Image, 'name' | 'id'>,
): Promise<void> {
  const path = layout.record(recordKey(image));
  await rm(path, { force: true }).catch((err: unknown) => {
    throw storeError('removing', path, err);
  });
}

/** Strips the record's private fields. */
export function toImage(record: ImageRecord): Image {
  const { extraBlobs: _extraBlobs, ...image } = record;
  return image;
}
