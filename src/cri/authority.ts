/**
 * Go gRPC clients of the CRI (crictl, the kubelet) dialing a unix socket send
 * the socket's path as the HTTP/2 `:authority`, which is not a valid
 * authority: Node's HTTP/2 layer (nghttp2) resets every such stream with
 * PROTOCOL_ERROR before grpc-js sees it. containerd and CRI-O, in Go, accept
 * it. This rewrites the client's header blocks on their way in: an invalid
 * `:authority` becomes `localhost`; every other frame and header passes as is.
 *
 * The client's header blocks are HPACK-decoded with a dynamic table that
 * follows the client's encoder, and re-encoded as literals never indexed, so
 * the server's decoding table stays empty and in step.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import hpack from 'hpack.js';
import { BerthError } from '../runtime/index.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_BYTES = 9;
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** HTTP/2's defaults, which Node's server keeps: the client's HPACK table, the largest frame it takes. */
const HEADER_TABLE_BYTES = 4096;
const MAX_FRAME_BYTES = 16_384;
/** Beyond this a header block is refused (Node's own limit on header lists is 64 KiB by default). */
const MAX_HEADER_BLOCK_BYTES = 256 * 1024;

/** What RFC 3986 allows in an authority (and nghttp2 checks): no '/', no spaces. */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]*$/;

/** The authority the rewritten header blocks carry. */
export const REWRITTEN_AUTHORITY = 'localhost';

/** A client's HTTP/2 bytes that cannot be a valid header block. */
export class MalformedHttp2Error extends BerthError {
  readonly code = 'ERR_MALFORMED_HTTP2';
}

interface PendingBlock {
  streamId: number;
  flags: number;
  priority: Buffer | undefined;
  fragments: Buffer[];
  bytes: number;
}

/** One client→server byte stream of an HTTP/2 connection. */
export class AuthorityRewriter {
  #buffered: Buffer = Buffer.alloc(0);
  #prefaceSeen = false;
  #pending: PendingBlock | undefined;
  readonly #table = hpack.table.create({ maxSize: HEADER_TABLE_BYTES });

  /** Takes the next bytes from the client; returns what to hand to the server. */
  push(chunk: Buffer): Buffer[] {
    this.#buffered = this.#buffered.length ? Buffer.concat([this.#buffered, chunk]) : chunk;
    const out: Buffer[] = [];
    if (!this.#prefaceSeen) {
      if (this.#buffered.length < PREFACE.length) return out;
      // Not HTTP/2 with prior knowledge: nothing to rewrite, the server answers it.
      this.#prefaceSeen = true;
      out.push(this.#buffered.subarray(0, PREFACE.length));
      this.#buffered = this.#buffered.subarray(PREFACE.length);
    }
    while (this.#buffered.length >= FRAME_HEADER_BYTES) {
      const length = this.#buffered.readUIntBE(0, 3);
      const total = FRAME_HEADER_BYTES + length;
      if (this.#buffered.length < total) break;
      const frame = this.#buffered.subarray(0, total);
      this.#buffered = this.#buffered.subarray(total);
      out.push(...this.#onFrame(frame));
    }
    return out;
  }

  #onFrame(frame: Buffer): Buffer[] {
    const type = frame[3]!;
    const flags = frame[4]!;
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    let payload = frame.subarray(FRAME_HEADER_BYTES);
    if (type === HEADERS) {
      if (flags & FLAG_PADDED) {
        const padding = payload[0] ?? 0;
        if (padding >= payload.length) throw new MalformedHttp2Error('HEADERS padding too long');
        payload = payload.subarray(1, payload.length - padding);
      }
      let priority: Buffer | undefined;
      if (flags & FLAG_PRIORITY) {
        priority = payload.subarray(0, 5);
        payload = payload.subarray(5);
      }
      this.#pending = { streamId, flags, priority, fragments: [payload], bytes: payload.length };
    } else if (type === CONTINUATION && this.#pending?.streamId === streamId) {
      this.#pending.fragments.push(payload);
      this.#pending.bytes += payload.length;
      if (this.#pending.bytes > MAX_HEADER_BLOCK_BYTES) {
        throw new MalformedHttp2Error('header block too large');
      }
      this.#pending.flags |= flags & FLAG_END_HEADERS;
    } else {
      return [frame];
    }
    if (!(this.#pending.flags & FLAG_END_HEADERS)) return [];
    const block = this.#pending;
    this.#pending = undefined;
    return this.#reencode(block);
  }

  #reencode(block: PendingBlock): Buffer[] {
    const headers = this.#decode(Buffer.concat(block.fragments));
    const encoder = hpack.encoder.create();
    for (const [name, value] of headers) {
      const rewritten =
        name === ':authority' && !VALID_AUTHORITY.test(value) ? REWRITTEN_AUTHORITY : value;
      // Literal, never indexed, literal name: 0001 0000.
      encoder.encodeBit(0);
      encoder.encodeBit(0);
      encoder.encodeBit(0);
      encoder.encodeBit(1);
      encoder.encodeInt(0);
      encoder.encodeStr(hpack.utils.toArray(name), false);
      encoder.encodeStr(hpack.utils.toArray(rewritten), true);
    }
    let rest = Buffer.concat([block.priority ?? Buffer.alloc(0), ...encoder.render()]);
    const frames: Buffer[] = [];
    let type = HEADERS;
    let flags = block.flags & (FLAG_END_STREAM | FLAG_PRIORITY);
    do {
      const piece = rest.subarray(0, MAX_FRAME_BYTES);
      rest = rest.subarray(piece.length);
      const header = Buffer.alloc(FRAME_HEADER_BYTES);
      header.writeUIntBE(piece.length, 0, 3);
      header[3] = type;
      header[4] = flags | (rest.length === 0 ? FLAG_END_HEADERS : 0);
      header.writeUInt32BE(block.streamId, 5);
      frames.push(header, piece);
      type = CONTINUATION;
      flags = 0;
    } while (rest.length > 0);
    return frames;
  }

  /** A header block's fields, in order, following the client's HPACK table (RFC 7541 §6). */
  #decode(bytes: Buffer): [string, string][] {
    const decoder = hpack.decoder.create();
    decoder.push(bytes);
    const fields: [string, string][] = [];
    try {
      while (!decoder.isEmpty()) {
        if (decoder.decodeBit()) {
          const entry = this.#table.lookup(decoder.decodeInt());
          fields.push([entry.name, entry.value]);
          continue;
        }
        const incremental = decoder.decodeBit();
        if (!incremental) {
          if (decoder.decodeBit()) {
            this.#table.updateSize(decoder.decodeInt());
            continue;
          }
          decoder.decodeBit(); // never-indexed: re-encoded as never indexed anyway
        }
        const index = decoder.decodeInt();
        let name: string;
        let nameSize: number;
        if (index === 0) {
          const raw = decoder.decodeStr();
          name = hpack.utils.stringify(raw);
          nameSize = raw.length;
        } else {
          const entry = this.#table.lookup(index);
          name = entry.name;
          nameSize = entry.nameSize;
        }
        const rawValue = decoder.decodeStr();
        const value = hpack.utils.stringify(rawValue);
        if (incremental) this.#table.add(name, value, nameSize, rawValue.length);
        fields.push([name, value]);
      }
    } catch (err) {
      throw new MalformedHttp2Error(
        `undecodable header block: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return fields;
  }
}

/**
 * The client's connection as grpc-js should see it: what the client sends
 * goes through an AuthorityRewriter, what the server sends goes out as is.
 * A malformed stream closes the connection (the server would have too).
 */
export function authorityRewritingConnection(socket: Socket): Duplex {
  const rewriter = new AuthorityRewriter();
  const connection = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    let pieces: Buffer[];
    try {
      pieces = rewriter.push(chunk);
    } catch (err) {
      connection.destroy(err as Error);
      return;
    }
    let more = true;
    for (const piece of pieces) more = connection.push(piece) && more;
    if (!more) socket.pause();
  });
  socket.on('end', () => connection.push(null));
  socket.on('error', (err) => connection.destroy(err));
  socket.on('close', () => connection.destroy());
  return connection;
}
