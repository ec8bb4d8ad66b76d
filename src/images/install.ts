/**
 * The last steps of a pull or an import, in the order that keeps the store
 * trustworthy after a crash: blobs (verified), then unpacked layers
 * (renamed in whole), then the image record (renamed in whole). A record
 * exists only once everything it names does.
 */
import { rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import type { BlobTee, Descriptor } from './blobs.js';
import { putBlob } from './blobs.js';
import { DigestMismatchError, InvalidImageError, LayerPathEscapeError } from './errors.js';
import { chainIds, ensureLayer, layerInfo } from './layers.js';
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
  /**
   * Makes the layer blob present in the store, verified (downloads or copies
   * it); a downloader hands its bytes to `tee` too, for the layer to be
   * unpacked while it downloads.
   */
  fetchLayer: (layer: Descriptor, index: number, tee: BlobTee) => Promise<void>;
  /** `fetchLayer` hands the bytes to its tee (a download does; a copy from a local file does not). */
  teesLayers?: boolean;
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

const NO_TEE: BlobTee = { begin: () => {}, write: () => {} };

/**
 * The bytes of a downloading blob handed on to its unpack. `whole` once the
 * download began at offset 0 (a resumed one did not: its prefix is on disk
 * only). The unpack's consumer slows the download when it lags; once the
 * unpack has settled, writes are dropped.
 */
class UnpackTee implements BlobTee {
  static readonly BATCH_BYTES = 1 << 20;
  // Batches as handed on (a byte stream's reader would concatenate them again): up to 4 MiB waiting.
  readonly stream = new PassThrough({ objectMode: true, highWaterMark: 4 });
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  verified: Promise<void> = Promise.resolve();
  whole = false;
  abandoned = false;
  #began = false;
  #closed = false;

  begin(offset: number): void {
    if (!this.#began) this.whole = offset === 0;
    this.#began = true;
  }

  async write(chunk: Uint8Array): Promise<void> {
    // The unpack's reader may have let go of the stream (it failed) before `close` was called.
    if (!this.whole || this.#closed || this.stream.destroyed) return;
    // Handed on by the MiB: each chunk is a trip through the decompressor on the thread pool.
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < UnpackTee.BATCH_BYTES) return;
    await this.#hand();
  }

  async #hand(): Promise<void> {
    const batch = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.stream.destroyed || this.stream.write(batch) || this.stream.destroyed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }

  async end(): Promise<void> {
    if (this.#pendingBytes > 0 && !this.#closed) await this.#hand();
    this.stream.end();
  }

  /** Stops the unpack: the download failed, or the bytes it saw were not the whole blob. */
  abandon(reason: unknown): void {
    this.abandoned = true;
    this.#closed = true;
    this.stream.destroy(reason instanceof Error ? reason : new Error(String(reason)));
  }

  close(): void {
    this.#closed = true;
    this.stream.destroy();
  }
}

/** At most `limit` tasks running at once; the others wait their turn in order. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(limit: number) {
    this.#free = Math.max(1, limit);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
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
  const unpackOne = async (layer: Descriptor, index: number, tee?: UnpackTee) => {
    try {
      const { size } = await ensureLayer(
        layout,
        chain[index]!,
        diffIds[index]!,
        layer.digest,
        request.signal,
        tee && { stream: tee.stream, verified: () => tee.verified },
      );
      sizes[index] = size;
    } catch (err) {
      // Cut short by its download (which reports its own error) or left to the stored blob.
      if (tee?.abandoned) throw err;
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
  };
  // A layer is unpacked while it downloads, from the same bytes; one whose blob was already stored
  // (or resumed from a .partial) is unpacked from the store afterwards, without holding a download
  // slot. Biggest first: the longest download starts at once.
  const concurrency = request.concurrency ?? 3;
  const unpackSlots = new Slots(concurrency);
  const unpacks: Promise<void>[] = [];
  let unpackFailure: { err: unknown } | undefined;
  const afterwards = (unpack: Promise<void>) =>
    unpacks.push(
      unpack.catch((err: unknown) => {
        unpackFailure ??= { err };
      }),
    );
  const bySize = request.layers
    .map((layer, index) => ({ layer, index }))
    .sort((a, b) => b.layer.size - a.layer.size);
  try {
    await forEachLimited(bySize, concurrency, async ({ layer, index }) => {
      if (unpackFailure) throw unpackFailure.err;
      if (!request.teesLayers || (await layerInfo(layout, chain[index]!))) {
        await request.fetchLayer(layer, index, NO_TEE);
        afterwards(unpackOne(layer, index));
        return;
      }
      const tee = new UnpackTee();
      const streamed = unpackOne(layer, index, tee);
      streamed.then(
        () => tee.close(),
        () => tee.close(),
      );
      const fetched = request.fetchLayer(layer, index, tee);
      tee.verified = fetched;
      try {
        await fetched;
      } catch (err) {
        tee.abandon(err);
        await streamed.catch(() => {});
        throw err;
      }
      if (tee.whole) {
        await tee.end();
        afterwards(streamed);
        return;
      }
      tee.abandon(new Error('the layer is unpacked from the stored blob'));
      await streamed.catch(() => {});
      afterwards(
        unpackSlots.run(() => (unpackFailure ? Promise.resolve() : unpackOne(layer, index))),
      );
    });
  } finally {
    // Every unpack settles (its staging dir removed on failure) before the pull reports anything.
    await Promise.all(unpacks);
  }
  if (unpackFailure) throw unpackFailure.err;
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
