/**
 * The last steps of a pull or an import, in the order that keeps the store
 * trustworthy after a crash: blobs (verified), then unpacked layers
 * (renamed in whole), then the image record (renamed in whole). A record
 * exists only once everything it names does.
 */
import { rm } from 'node:fs/promises';
import type { Descriptor } from './blobs.js';
import { putBlob } from './blobs.js';
import { DigestMismatchError, InvalidImageError, LayerPathEscapeError } from './errors.js';
import { chainIds, ensureLayer } from './layers.js';
import type { StoreLayout } from './layout.js';
import { MEDIA_TYPES, parseConfig } from './manifest.js';
import { writeRecord, type ImageRecord } from './records.js';
import type { Image, ImageConfig, PullProgress } from './types.js';

export interface InstallRequest {
  reference: string;
  manifest: { bytes: Uint8Array; digest: string; mediaType: string };
  config: { bytes: Uint8Array; digest: string };
  layers: Descriptor[];
  /** Names to record the image under ('' for one untagged record). */
  names: string[];
  repoDigests: string[];
  extraBlobs?: string[];
  /** Makes the layer blob present in the store, verified (downloads or copies it). */
  fetchLayer: (layer: Descriptor, index: number) => Promise<void>;
  /** Check on the config before any layer is fetched (platform). */
  checkConfig?: (config: ImageConfig) => void;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
}

/** Runs `task` over `items`, `limit` at a time; the first failure stops new starts and is thrown once all settle. */
export async function forEachLimited<T>(
  items: T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        await task(items[index]!, index);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.err;
}

export async function installImage(layout: StoreLayout, request: InstallRequest): Promise<Image[]> {
  const source = `image ${request.reference}`;
  const config = parseConfig(
    request.config.bytes,
    request.layers.length,
    `config ${request.config.digest} of ${source}`,
  );
  request.checkConfig?.(config);
  await putBlob(
    layout,
    { digest: request.config.digest, size: request.config.bytes.length },
    request.config.bytes,
    `config of ${source}`,
  );
  const diffIds = config.rootfs.diff_ids;
  const chain = chainIds(diffIds);
  const sizes: number[] = [];
  await forEachLimited(request.layers, request.concurrency ?? 3, async (layer, index) => {
    await request.fetchLayer(layer, index);
    try {
      const { size } = await ensureLayer(
        layout,
        chain[index]!,
        diffIds[index]!,
        layer.digest,
        request.signal,
      );
      sizes[index] = size;
    } catch (err) {
      // A blob whose content is wrong or hostile is of no use to any image: it goes too.
      if (
        err instanceof LayerPathEscapeError ||
        err instanceof DigestMismatchError ||
        err instanceof InvalidImageError
      ) {
        await rm(layout.blob(layer.digest), { force: true }).catch(() => {});
      }
      throw err;
    }
    request.onProgress?.({
      kind: 'layer',
      digest: layer.digest,
      current: layer.size,
      total: layer.size,
      state: 'unpacked',
    });
  });
  await putBlob(
    layout,
    { digest: request.manifest.digest, size: request.manifest.bytes.length },
    request.manifest.bytes,
    `manifest of ${source}`,
  );
  const base = {
    id: request.config.digest,
    digest: request.manifest.digest,
    repoDigests: request.repoDigests,
    size: sizes.reduce((sum, size) => sum + size, 0),
    config,
    layers: request.layers.map((layer, index) => ({
      digest: layer.digest,
      diffId: diffIds[index]!,
      chainId: chain[index]!,
      size: layer.size,
      mediaType: layer.mediaType ?? MEDIA_TYPES.dockerLayerTar,
    })),
    ...(config.created !== undefined && { created: config.created }),
    ...(request.extraBlobs?.length && { extraBlobs: request.extraBlobs }),
  };
  const images: Image[] = [];
  for (const name of request.names.length ? request.names : ['']) {
    const record: ImageRecord = { name, ...base };
    await writeRecord(layout, record);
    const { extraBlobs: _extra, ...image } = record;
    images.push(image);
  }
  return images;
}
