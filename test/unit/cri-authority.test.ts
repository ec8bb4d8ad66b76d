/**
 * The AuthorityRewriter on HTTP/2 byte streams made with an independent HPACK
 * encoder (hpack.js' Compressor, which indexes headers as Go's does): an
 * invalid :authority becomes localhost, valid ones and every other header
 * stay, the client's dynamic table is followed across header blocks, padding
 * and priority are handled, big blocks are split into CONTINUATION frames, and
 * frames of other types pass byte for byte, however the input is cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import hpack from 'hpack.js';
import { AuthorityRewriter, REWRITTEN_AUTHORITY } from '../../src/cri/authority.js';

interface Header {
  name: string;
  value: string;
}
interface Compressor {
  write(headers: (Header & { neverIndex?: boolean })[]): void;
  read(): Buffer | null;
}
interface Decompressor {
  write(bytes: Buffer): void;
  execute(): void;
  read(): { name: string; value: string } | null;
}
const codec = hpack as unknown as {
  compressor: { create(options: { table: { maxSize: number } }): Compressor };
  decompressor: { create(options: { table: { maxSize: number } }): Decompressor };
};

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

function compress(compressor: Compressor, headers: Header[]): Buffer {
  compressor.write(headers);
  const chunks: Buffer[] = [];
  for (let chunk = compressor.read(); chunk; chunk = compressor.read()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

function parseFrames(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = bytes.readUIntBE(offset, 3);
    frames.push({
      type: bytes[offset + 3]!,
      flags: bytes[offset + 4]!,
      streamId: bytes.readUInt32BE(offset + 5),
      payload: bytes.subarray(offset + 9, offset + 9 + length),
    });
    offset += 9 + length;
  }
  assert.equal(offset, bytes.length, 'whole frames only');
  return frames;
}

/** Feeds `input` in pieces of the given sizes (cycled); returns all output. */
function run(input: Buffer, pieceSizes: number[]): Buffer {
  const rewriter = new AuthorityRewriter();
  const out: Buffer[] = [];
  let offset = 0;
  for (let i = 0; offset < input.length; i++) {
    const size = pieceSizes[i % pieceSizes.length]!;
    out.push(...rewriter.push(input.subarray(offset, offset + size)));
    offset += size;
  }
  return Buffer.concat(out);
}

const requestHeaders = (path: string, authority: string): Header[] => [
  { name: ':method', value: 'POST' },
  { name: ':scheme', value: 'http' },
  { name: ':path', value: path },
  { name: ':authority', value: authority },
  { name: 'content-type', value: 'application/grpc' },
  { name: 'user-agent', value: 'grpc-go/1.51.0' },
  { name: 'te', value: 'trailers' },
];

test('header blocks are rewritten and the client’s table followed; other frames pass as is', () => {
  const client = codec.compressor.create({ table: { maxSize: 4096 } });
  const data = frame(0x0, 0x1, 1, Buffer.from('grpc message bytes'));
  const settings = frame(0x4, 0x0, 0, Buffer.from([0, 1, 0, 0, 0x10, 0]));
  const big = 'b'.repeat(40_000);
  const blocks = [
    requestHeaders('/runtime.v1.RuntimeService/Version', '/run/berth/cri.sock'),
    // Indexed now: the second block refers to the first's entries.
    requestHeaders('/runtime.v1.RuntimeService/Status', '/run/berth/cri.sock'),
    requestHeaders('/runtime.v1.RuntimeService/Version', 'berth.example:10010'),
    [
      ...requestHeaders('/runtime.v1.RuntimeService/Status', '/run/berth/cri.sock'),
      { name: 'x-big', value: big },
    ],
  ];
  const encoded = blocks.map((headers) => compress(client, headers));
  // Block 1 padded with a priority; block 2 cut into HEADERS + CONTINUATION.
  const padded = Buffer.concat([
    Buffer.from([3]),
    Buffer.from([0, 0, 0, 0, 15]),
    encoded[0]!,
    Buffer.alloc(3),
  ]);
  const split = Math.floor(encoded[1]!.length / 2);
  const input = Buffer.concat([
    PREFACE,
    settings,
    frame(0x1, 0x8 | 0x20 | 0x4, 1, padded),
    data,
    frame(0x1, 0x0, 3, encoded[1]!.subarray(0, split)),
    frame(0x9, 0x4, 3, encoded[1]!.subarray(split)),
    frame(0x1, 0x4 | 0x1, 5, encoded[2]!.subarray(0)),
    frame(0x1, 0x4, 7, encoded[3]!),
  ]);

  for (const pieces of [[input.length], [1], [7, 1, 300, 13], [9, 24]]) {
    const output = run(input, pieces);
    assert.deepEqual(output.subarray(0, PREFACE.length), PREFACE);
    const frames = parseFrames(output.subarray(PREFACE.length));
    assert.deepEqual(frames[0], {
      type: 0x4,
      flags: 0,
      streamId: 0,
      payload: settings.subarray(9),
    });
    assert.deepEqual(frames[2], { type: 0x0, flags: 0x1, streamId: 1, payload: data.subarray(9) });
    const server = codec.decompressor.create({ table: { maxSize: 4096 } });
    const decoded: { streamId: number; flags: number; headers: Header[] }[] = [];
    let current: { streamId: number; flags: number; fragments: Buffer[] } | undefined;
    for (const f of frames) {
      if (f.type === 0x1) {
        assert.equal(f.flags & 0x8, 0, 'no padding left');
        current = { streamId: f.streamId, flags: f.flags, fragments: [] };
        current.fragments.push(f.flags & 0x20 ? f.payload.subarray(5) : f.payload);
      } else if (f.type === 0x9) {
        assert.equal(f.streamId, current?.streamId);
        assert.ok(f.payload.length <= 16_384);
        current!.fragments.push(f.payload);
      } else continue;
      assert.ok(f.payload.length <= 16_384, 'no frame over the default max size');
      if (f.flags & 0x4) {
        server.write(Buffer.concat(current!.fragments));
        server.execute();
        const headers: Header[] = [];
        for (let h = server.read(); h; h = server.read())
          headers.push({ name: h.name, value: h.value });
        decoded.push({ streamId: current!.streamId, flags: current!.flags & 0x21, headers });
      }
    }
    const expected = blocks.map((headers) =>
      headers.map((h) =>
        h.name === ':authority' && h.value.startsWith('/')
          ? { ...h, value: REWRITTEN_AUTHORITY }
          : h,
      ),
    );
    assert.deepEqual(
      decoded.map((d) => d.headers),
      expected,
    );
    assert.deepEqual(
      decoded.map((d) => [d.streamId, d.flags]),
      [
        [1, 0x20],
        [3, 0],
        [5, 0x1],
        [7, 0],
      ],
    );
  }
});

test('a malformed header block is refused with a typed error', () => {
  const rewriter = new AuthorityRewriter();
  const badPadding = frame(0x1, 0x8 | 0x4, 1, Buffer.from([200, 1, 2]));
  assert.throws(
    () => rewriter.push(Buffer.concat([PREFACE, badPadding])),
    (err: Error & { code?: string }) => err.code === 'ERR_MALFORMED_HTTP2',
  );
  const rewriter2 = new AuthorityRewriter();
  // Indexed field 70: beyond the static table, and the dynamic one is empty.
  assert.throws(
    () => rewriter2.push(Buffer.concat([PREFACE, frame(0x1, 0x4, 1, Buffer.from([0x80 | 70]))])),
    (err: Error & { code?: string }) => err.code === 'ERR_MALFORMED_HTTP2',
  );
});
