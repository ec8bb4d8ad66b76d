/** The image store: one root, its blobs, layers and image records, shared safely by the CLI and berthd. */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ImageInUseError, ImageNotFoundError, storeError } from './errors.js';
import { containerRecords, prune, type PruneResult } from './gc.js';
import { importImages } from './import.js';
import { DEFAULT_STORE_ROOT, StoreLayout } from './layout.js';
import { withFileLock } from './lock.js';
import { pullImage } from './pull.js';
import { removeStaleContainerRootfs } from './rootfs.js';
import { deleteRecord, readRecords, toImage } from './records.js';
import { parseReference } from './reference.js';
import type { Image, ImportOptions, PullOptions } from './types.js';

const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{12,64})$/;

export class ImageStore {
  readonly root: string;
  readonly #layout: StoreLayout;

  private constructor(root: string) {
    this.root = root;
    this.#layout = new StoreLayout(root);
  }

  /** Opens (creating its folders) the store at `root`: option, else `$BERTH_STORE`, else /var/lib/berth. */
  static async open(options: { root?: string } = {}): Promise<ImageStore> {
    const root = resolve(options.root ?? process.env.BERTH_STORE ?? DEFAULT_STORE_ROOT);
    const store = new ImageStore(root);
    const layout = store.#layout;
    for (const dir of [
      layout.blobsDir,
      layout.ingestDir,
      layout.layersDir,
      layout.layersTmpDir,
      layout.imagesDir,
      layout.containersDir,
    ]) {
      await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
        throw storeError('creating', dir, err);
      });
    }
    return store;
  }

  /** Runs `fn` holding the store's lock, exclusive across processes. */
  withLock<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withFileLock(this.#layout.lockFile, fn, signal);
  }

  /** Pulls `ref` from its registry (see PullOptions), under the store lock. */
  pull(ref: string, opts: PullOptions = {}): Promise<Image> {
    parseReference(ref);
    return pullImage(this.#layout, ref, opts, (fn, signal) => this.withLock(fn, signal));
  }

  /** Imports an OCI image layout (a dir) or a `docker save` / OCI archive (a tar file or stream). */
  import(source: string | NodeJS.ReadableStream, opts: ImportOptions = {}): Promise<Image[]> {
    return this.withLock(() => importImages(this.#layout, source, opts), opts.signal);
  }

  async list(): Promise<Image[]> {
    return (await readRecords(this.#layout)).map(toImage);
  }

  /** By name (normalized), id (`sha256:...`), id prefix (12+ hex), or repo digest (`name@sha256:...`). */
  async get(ref: string): Promise<Image> {
    const records = await readRecords(this.#layout);
    let normalized: string | undefined;
    try {
      normalized = parseReference(ref).normalized;
    } catch {
      normalized = undefined;
    }
    const byName = records.find((r) => r.name !== '' && r.name === normalized);
    if (byName) return toImage(byName);
    const idMatch = ID_PREFIX.exec(ref);
    if (idMatch) {
      const hex = idMatch[1]!;
      const matches = records.filter((r) => r.id.slice('sha256:'.length).startsWith(hex));
      const ids = new Set(matches.map((r) => r.id));
      if (ids.size === 1) return toImage(matches[0]!);
      if (ids.size > 1)
        throw new ImageNotFoundError(ref, `(ambiguous: it prefixes ${ids.size} image ids)`);
    }
    if (normalized?.includes('@')) {
      const byDigest = records.find((r) =>
        r.repoDigests.some(
          (d) =>
            normalized!.endsWith(d.slice(d.indexOf('@'))) &&
            normalized!.startsWith(d.slice(0, d.indexOf('@'))),
        ),
      );
      if (byDigest) return toImage(byDigest);
    }
    throw new ImageNotFoundError(ref);
  }

  /**
   * Removes an image's record (its blobs and layers go at the next prune).
   * Refuses while a container's rootfs uses the image, unless `force`.
   */
  async remove(ref: string, opts: { force?: boolean; signal?: AbortSignal } = {}): Promise<Image> {
    return this.withLock(async () => {
      const image = await this.get(ref);
      if (!opts.force) {
        const users = (await containerRecords(this.#layout)).filter(
          ({ record }) => record.image === image.id,
        );
        const others = (await readRecords(this.#layout)).filter(
          (r) => r.id === image.id && r.name !== image.name,
        );
        // Another name for the same image keeps it alive: only its last name is guarded.
        if (users.length && !others.length)
          throw new ImageInUseError(
            ref,
            users.map((u) => u.id),
          );
      }
      await deleteRecord(this.#layout, image);
      return image;
    }, opts.signal);
  }

  /** Removes blobs and layers no image or container uses, and every stale ingest file. */
  prune(opts: { signal?: AbortSignal } = {}): Promise<PruneResult> {
    // Container folders nobody created a container for (a CLI killed between making one and the
    // create) stop holding their layers first; under the one lock, so no bundle is made in between.
    return this.withLock(async () => {
      const containerFolders = (await removeStaleContainerRootfs(this.root)).length;
      return { ...(await prune(this.#layout)), containerFolders };
    }, opts.signal);
  }

  /** The image's unpacked layer dirs, lowest first (overlay wants lowerdir highest first: reverse them). */
  layerPaths(image: Image): string[] {
    return image.layers.map((layer) => this.#layout.layerFs(layer.chainId));
  }
}
