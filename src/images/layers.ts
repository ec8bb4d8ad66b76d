/**
 * Unpacked layers: made in `layers/tmp/<random>/fs`, published by one
 * rename to `layers/sha256/<chainId hex>/`. A dir under layers/sha256 is
 * complete by construction; what a crash leaves under layers/tmp is never
 * read and `prune` removes it.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { storeError } from './errors.js';
import { exists, readJsonIfExists, tempName, writeFileAtomic } from './fsutil.js';
import type { StoreLayout } from './layout.js';
import { unpackLayer } from './unpack.js';

export interface LayerInfo {
  diffId: string;
  size: number;
}

/** chain[0] = diff[0]; chain[i] = sha256(chain[i-1] + " " + diff[i]) (the OCI image spec's ChainID). */
export function chainIds(diffIds: string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const previous = chain[chain.length - 1];
    chain.push(
      previous === undefined
        ? diffId
        : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`,
    );
  }
  return chain;
}

export async function layerInfo(
  layout: StoreLayout,
  chainId: string,
): Promise<LayerInfo | undefined> {
  return readJsonIfExists<LayerInfo>(layout.layerInfo(chainId));
}

/**
 * Unpacks the blob as layer `chainId` unless it already is; returns its
 * unpacked size. The blob is read from the store, or from `stream` as it
 * downloads: then `verified` must resolve (the blob stored, its digest
 * checked) before the layer is published, and its failure drops the layer.
 */
export async function ensureLayer(
  layout: StoreLayout,
  chainId: string,
  diffId: string,
  blobDigest: string,
  signal?: AbortSignal,
  streaming?: { stream: AsyncIterable<Uint8Array>; verified: () => Promise<void> },
): Promise<{ size: number; created: boolean }> {
  const known = await layerInfo(layout, chainId);
  if (known) return { size: known.size, created: false };
  const staging = join(layout.layersTmpDir, tempName('layer'));
  const fs = join(staging, 'fs');
  try {
    await mkdir(fs, { recursive: true, mode: 0o755 });
    const { size } = await unpackLayer(streaming?.stream ?? layout.blob(blobDigest), fs, diffId, {
      layer: `${blobDigest} (diff ${diffId})`,
      ...(signal && { signal }),
    });
    await streaming?.verified();
    await writeFileAtomic(
      join(staging, 'layer.json'),
      JSON.stringify({ diffId, size } satisfies LayerInfo),
    );
    await mkdir(layout.layersDir, { recursive: true });
    try {
      await rename(staging, layout.layer(chainId));
    } catch (err) {
      // Another unpack of the same layer won the race: its copy is as good as ours.
      if (!(await exists(layout.layerInfo(chainId)))) throw err;
      await rm(staging, { recursive: true, force: true });
    }
    return { size, created: true };
  } catch (err) {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    throw storeError('unpacking layer into', staging, err);
  }
}
