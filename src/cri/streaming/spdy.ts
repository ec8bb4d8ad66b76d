/**
 * The SPDY/3.1 side of the kubelet streaming protocol (k8s.io/apimachinery
 * httpstream/spdy): the client upgrades an HTTP/1.1 request with
 * `Upgrade: SPDY/3.1` and offers protocols in `X-Stream-Protocol-Version`;
 * the server answers 101 with the one it picked, then the client opens one
 * SPDY stream per channel, named by its `streamType` header.
 *
 * The Go clients (moby/spdystream) never send WINDOW_UPDATE and ignore the
 * ones they get: the kubelet's own server does no flow control either, so
 * spdy-transport's is turned off here, or output past 64 KiB would stall.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import transport, { type SpdyConnection, type SpdyStream } from 'spdy-transport';

export type { SpdyConnection, SpdyStream };

export const HEADER_PROTOCOL_VERSION = 'x-stream-protocol-version';
export const HEADER_ACCEPTED_PROTOCOLS = 'x-accepted-stream-protocol-versions';
export const SPDY_31 = 'SPDY/3.1';
/** SPDY header names are lowercase on the wire (Go's `streamType` arrives as `streamtype`). */
export const HEADER_STREAM_TYPE = 'streamtype';
export const HEADER_PORT = 'port';
export const HEADER_REQUEST_ID = 'requestid';

/** The protocols a request offers, in its order (repeated headers or comma lists). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headersDistinct[HEADER_PROTOCOL_VERSION] ?? [];
  return raw
    .flatMap((value) => value.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The client's first protocol that the server speaks (k8s' httpstream.Handshake). */
export function negotiate(offered: string[], supported: readonly string[]): string | undefined {
  return offered.find((protocol) => supported.includes(protocol));
}

export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === SPDY_31.toLowerCase();
}

/** Refuses an upgrade on the raw socket with an HTTP status and a one-line reason. */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  reason: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = `${message}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * Answers the upgrade with 101 and `protocol`, and starts a SPDY server
 * session on the socket. Every stream the client opens is answered
 * (SYN_REPLY) at once: Go's client waits for that before it writes.
 */
export function acceptSpdy(
  socket: Duplex,
  head: Buffer,
  protocol: string,
  onStream: (stream: SpdyStream) => void,
): SpdyConnection {
  socket.write(
    [
      'HTTP/1.1 101 Switching Protocols',
      'Connection: Upgrade',
      `Upgrade: ${SPDY_31}`,
      `X-Stream-Protocol-Version: ${protocol}`,
    ].join('\r\n') + '\r\n\r\n',
  );
  if (head.length > 0) socket.unshift(head);
  const connection = transport.connection.create(socket, { protocol: 'spdy', isServer: true });
  withoutFlowControl(connection);
  withBareStreams(connection);
  connection.on('stream', (stream) => {
    // A reset or a dropped connection ends the session; the error itself says nothing more.
    stream.on('error', () => {});
    stream.respond(200, {});
    onStream(stream);
  });
  // Socket errors end the session (the 'close' that follows); nothing to report.
  connection.on('error', () => {});
  return connection;
}

/**
 * spdy-transport carries HTTP over SPDY and refuses a SYN_STREAM without
 * `:method` and `:path`; the kubelet protocol's streams carry only their own
 * headers (`streamtype`, `port`, `requestid`). Such a stream is given
 * placeholders on its way through the parser.
 */
function withBareStreams(connection: SpdyConnection): void {
  const parser = connection._spdyState.parser;
  const parseKVs = parser.parseKVs.bind(parser);
  parser.parseKVs = (body, callback) =>
    parseKVs(body, (err, headers) => {
      if (!err && headers && headers[':method'] === undefined && headers[':path'] === undefined) {
        headers[':method'] = 'POST';
        headers[':path'] = '/';
      }
      callback(err, headers);
    });
}

/**
 * Sends without waiting for window updates (the peer sends none), and
 * takes whatever the peer sends (it does not wait for ours): the receive
 * windows keep their sizes, so the updates sent stay valid, but never
 * overflow.
 */
function withoutFlowControl(connection: SpdyConnection): void {
  const state = connection._spdyState;
  const huge = 2 ** 50;
  state.window.send.current = huge;
  state.streamWindow.send.max = huge;
  for (const side of [state.window.send, state.streamWindow.send]) {
    side.limit = Infinity;
    side.lowWaterMark = 0;
  }
  state.window.recv.limit = Infinity;
  state.streamWindow.recv.limit = Infinity;
  // A SETTINGS frame from the client would set the streams' send windows back.
  connection._setDefaultWindow = () => {};
}
