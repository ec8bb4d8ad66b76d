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

export async function sniffCompression(path: string): Promise<Compression> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    const bytes = head.subarray(0, bytesRead);
    if (startsWith(bytes, GZIP_MAGIC)) return 'gzip';
    if (startsWith(bytes, ZSTD_MAGIC)) return 'zstd';
    return 'none';
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
      return createGunzip();
    case 'zstd':
      return zstdDecompressor();
    case 'none':
      return new PassThrough();
  }
}
