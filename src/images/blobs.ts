/**
 * Content-addressed blobs. A blob reaches `blobs/sha256/<hex>` only by a
 * rename after its bytes were hashed and counted against its descriptor; a
 * download in progress lives in `ingest/<hex>.partial` and is never read as
 * a blob. A .partial left by an interrupted pull is only a prefix: the next
 * pull re-hashes it, asks for the rest (HTTP Range) and verifies the whole.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { DigestMismatchError, SizeMismatchError, storeError } from './errors.js';
import { BatchedWriter, tempName } from './fsutil.js';
import type { StoreLayout } from './layout.js';
import { dirname, join } from 'node:path';

export interface Descriptor {
  digest: string;
  size: number;
  mediaType?: string;
}

/**
 * A second reader of a blob as it downloads (an unpack). `begin` is called
 * once, with the offset the bytes written next start at (not 0 when a
 * .partial is resumed); `write` gets each chunk after it was hashed and
 * written, and slows the download down by taking its time.
 */
export interface BlobTee {
  begin(offset: number): void;
  write(chunk: Uint8Array): Promise<void> | void;
}

/** Where a blob's bytes come from: the rest of it from `offset` (or all of it, when the source cannot seek). */
export type BlobSource = (
  offset: number,
) => Promise<{ body: AsyncIterable<Uint8Array>; offset: number }>;

export async function hasBlob(layout: StoreLayout, desc: Descriptor): Promise<boolean> {
  try {
    const info = await stat(layout.blob(desc.digest));
    return info.isFile() && info.size === desc.size;
  } catch {
    return false;
  }
}

async function hashFile(path: string, hash: Hash): Promise<number> {
  let length = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    length += chunk.length;
  }
  return length;
}

/** Errors of the store itself (the disk), as opposed to the source's: the .partial is dropped then. */
class LocalWriteError extends Error {}

/**
 * Stores a blob from `source`, verifying digest and size as it streams.
 * `resumable` keeps a .partial when the source fails midway (a dropped
 * connection) so that the next call continues it; a wrong digest or size, or
 * a failed write, removes it.
 */
export async function ingestBlob(
  layout: StoreLayout,
  desc: Descriptor,
  source: BlobSource,
  opts: {
    what: string;
    resumable: boolean;
    signal?: AbortSignal;
    onBytes?: (current: number, resumed: boolean) => void;
    tee?: BlobTee;
  },
): Promise<'exists' | 'stored'> {
  if (await hasBlob(layout, desc)) return 'exists';
  const final = layout.blob(desc.digest);
  const partial = opts.resumable
    ? layout.partial(desc.digest)
    : join(layout.ingestDir, `${tempName('blob')}.partial`);
  const hash = createHash('sha256');
  let length = 0;
  let handle: FileHandle | undefined;
  let keepPartial = false;
  let writer: BatchedWriter | undefined;
  try {
    await mkdir(dirname(partial), { recursive: true });
    if (opts.resumable) {
      try {
        length = await hashFile(partial, hash);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (length > desc.size) {
      await rm(partial, { force: true });
      return await ingestBlob(layout, desc, source, opts);
    }
    const resumed = length > 0;
    handle = await open(partial, resumed ? 'r+' : 'w', 0o644);
    if (length < desc.size || desc.size === 0) {
      opts.signal?.throwIfAborted();
      const answer = await source(length);
      if (answer.offset !== length) {
        // The source sent it all again (a registry that ignores Range): let go of that answer, start over.
        await answer.body[Symbol.asyncIterator]().return?.();
        await handle.truncate(0);
        hash.destroy();
        return await restart(layout, desc, source, opts, handle, partial);
      }
      keepPartial = opts.resumable;
      opts.tee?.begin(length);
      opts.onBytes?.(length, resumed);
      writer = new BatchedWriter(handle, length);
      for await (const chunk of answer.body) {
        if (length + chunk.length > desc.size) {
          keepPartial = false;
          throw new SizeMismatchError(
            desc.size,
            length + chunk.length,
            `${opts.what} ${desc.digest}`,
          );
        }
        try {
          await writer.write(chunk);
        } catch (err) {
          throw new LocalWriteError('write', { cause: err });
        }
        hash.update(chunk);
        length += chunk.length;
        await opts.tee?.write(chunk);
        opts.onBytes?.(length, resumed);
      }
      try {
        await writer.flush();
      } catch (err) {
        throw new LocalWriteError('write', { cause: err });
      }
      keepPartial = false;
    }
    if (length !== desc.size)
      throw new SizeMismatchError(desc.size, length, `${opts.what} ${desc.digest}`);
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== desc.digest)
      throw new DigestMismatchError(desc.digest, actual, `${opts.what} ${desc.digest}`);
    try {
      await handle.sync();
      await handle.close();
      handle = undefined;
      await mkdir(dirname(final), { recursive: true });
      await rename(partial, final);
    } catch (err) {
      throw new LocalWriteError('commit', { cause: err });
    }
    return 'stored';
  } catch (err) {
    if (keepPartial && writer && !(err instanceof LocalWriteError)) {
      // What arrived before the source failed is kept for the resume (and verified with the rest then).
      await writer.flush().catch(() => {
        keepPartial = false;
      });
    }
    await handle?.close().catch(() => {});
    handle = undefined;
    if (!keepPartial || err instanceof LocalWriteError)
      await rm(partial, { force: true }).catch(() => {});
    if (err instanceof LocalWriteError) throw storeError('writing', partial, err.cause);
    throw storeError('ingesting into', partial, err);
  } finally {
    await handle?.close().catch(() => {});
  }
}

async function restart(
  layout: StoreLayout,
  desc: Descriptor,
  source: BlobSource,
  opts: Parameters<typeof ingestBlob>[3],
  handle: FileHandle,
  partial: string,
): Promise<'exists' | 'stored'> {
  await handle.close();
  await rm(partial, { force: true });
  return ingestBlob(layout, desc, source, { ...opts });
}

export async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

/** Stores bytes already in memory (manifests, configs read whole), after checking them. */
export async function putBlob(
  layout: StoreLayout,
  desc: Descriptor,
  data: Uint8Array,
  what: string,
): Promise<void> {
  await ingestBlob(layout, desc, async () => ({ body: once(data), offset: 0 }), {
    what,
    resumable: false,
  });
}

/** Verifies bytes against a digest (and size, when known) before anything uses them. */
export function verifyBytes(
  data: Uint8Array,
  desc: { digest: string; size?: number },
  what: string,
): void {
  if (desc.size !== undefined && data.length !== desc.size) {
    throw new SizeMismatchError(desc.size, data.length, `${what} ${desc.digest}`);
  }
  const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  if (actual !== desc.digest)
    throw new DigestMismatchError(desc.digest, actual, `${what} ${desc.digest}`);
}
