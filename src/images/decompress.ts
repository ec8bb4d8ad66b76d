/** Layer decompression: gzip (node:zlib), zstd (fzstd, pure JS), or none, told apart by the blob's first bytes. */
import { open } from 'node:fs/promises';
import { Transform, PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((byte, i) => bytes[i] === byte);
}

function compressionOf(bytes: Uint8Array): Compression {
  if (startsWith(bytes, GZIP_MAGIC)) return 'gzip';
  if (startsWith(bytes, ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** The compression of a stream, told by its first bytes, and the stream whole again (those bytes first). */
export async function sniffStream(
  source: AsyncIterable<Uint8Array>,
): Promise<{ compression: Compression; body: AsyncIterable<Uint8Array> }> {
  const chunks = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < ZSTD_MAGIC.length) {
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  const first = Buffer.concat(head);
  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      if (first.length > 0) yield first;
      if (ended) return;
      for (;;) {
        const next = await chunks.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // A reader that stops early lets go of the source (a download waiting to hand on more bytes).
      await chunks.return?.();
    }
  }
  return { compression: compressionOf(first), body: body() };
}

export async function sniffCompression(path: string): Promise<Compression> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return compressionOf(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

function zstdDecompressor(): Transform {
  const decoder = new Decompress((data) => {
    transform.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  return transform;
}

export function decompressor(compression: Compression): Transform {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: 256 * 1024 });
    case 'zstd':
      return zstdDecompressor();
    case 'none':
      return new PassThrough();
  }
}
