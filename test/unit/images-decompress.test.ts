import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { sniffStream } from '../../src/images/decompress.js';

async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// sniffStream tells the compression from the first bytes, even split over
// 1-byte chunks, and gives the stream back whole.
const sniffCases: [string, Buffer, string][] = [
  ['gzip', gzipSync(Buffer.from('layer')), 'gzip'],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]), 'zstd'],
  ['plain bytes', Buffer.from('plain tar bytes'), 'none'],
  ['nothing', Buffer.alloc(0), 'none'],
  ['half a gzip magic', Buffer.from([0x1f]), 'none'],
];
for (const [what, data, expected] of sniffCases) {
  for (const size of [1, 3, 1 << 16]) {
    test(`sniffStream: ${what} in chunks of ${size} is ${expected}, given back whole`, async () => {
      const { compression, body } = await sniffStream(chunksOf(data, size));
      assert.equal(compression, expected, `${data.toString('hex')} in chunks of ${size}`);
      assert.deepEqual(await collect(body), data);
    });
  }
}

test('sniffStream: a reader that stops early lets go of the source', async () => {
  let released = false;
  async function* source(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) yield Buffer.from('0123456789');
    } finally {
      released = true;
    }
  }
  const { body } = await sniffStream(source());
  for await (const _chunk of body) break;
  assert.equal(released, true);
});
