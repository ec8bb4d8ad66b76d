/**
 * Test clients of the streaming server, one per framing: SPDY/3.1 on
 * spdy-transport (streams typed by `streamtype`, as Go's client opens them)
 * and WebSocket on ws (one byte of channel before each message).
 */
import { connect, type Socket } from 'node:net';
import transport, { type SpdyConnection, type SpdyStream } from 'spdy-transport';
import { WebSocket } from 'ws';

export interface UpgradeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  socket: Socket;
}

/** Sends an HTTP/1.1 upgrade request and reads the response head (and, without a 101, the body). */
export function upgradeRequest(
  url: string,
  headers: Record<string, string | string[]>,
  method = 'POST',
): Promise<UpgradeResponse> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const lines = [`${method} ${pathname} HTTP/1.1`, `Host: ${hostname}:${port}`];
    for (const [name, value] of Object.entries(headers)) {
      for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${one}`);
    }
    socket.once('error', reject);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.pause();
      const [statusLine, ...headerLines] = buffered
        .subarray(0, end)
        .toString('latin1')
        .split('\r\n');
      const rest = buffered.subarray(end + 4);
      const status = Number(statusLine!.split(' ')[1]);
      const parsed: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      if (status === 101) {
        if (rest.length) socket.unshift(rest);
        socket.off('error', reject);
        return resolve({ status, headers: parsed, body: '', socket });
      }
      let body = rest.toString();
      socket.resume();
      socket.on('data', (more: Buffer) => (body += more.toString()));
      socket.once('close', () => resolve({ status, headers: parsed, body, socket }));
    };
    socket.on('data', onData);
  });
}

export interface SpdyClient {
  protocol: string;
  connection: SpdyConnection;
  socket: Socket;
  /** Opens a stream with these headers; resolves once the server has answered it. */
  open(headers: Record<string, string>): Promise<SpdyStream>;
  close(): void;
}

export async function spdyClient(url: string, protocols: string[]): Promise<SpdyClient> {
  const response = await upgradeRequest(url, {
    Connection: 'Upgrade',
    Upgrade: 'SPDY/3.1',
    'X-Stream-Protocol-Version': protocols,
  });
  if (response.status !== 101) {
    response.socket.destroy();
    throw new Error(`upgrade refused: ${response.status} ${response.body}`);
  }
  const connection = transport.connection.create(response.socket, {
    protocol: 'spdy',
    isServer: false,
  });
  connection.start(3.1);
  connection.on('error', () => {});
  response.socket.resume();
  return {
    protocol: response.headers['x-stream-protocol-version'] ?? '',
    connection,
    socket: response.socket,
    open: (headers) =>
      new Promise((resolve, reject) => {
        const stream = connection.request({ method: 'POST', path: '/', headers }, (err) => {
          if (err) reject(err);
        });
        stream.on('error', () => {});
        stream.once('response', () => resolve(stream));
        stream.once('close', () => reject(new Error(`stream ${JSON.stringify(headers)} closed`)));
      }),
    close: () => response.socket.destroy(),
  };
}

/** Everything a readable gives until it ends. */
export function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.once('end', () => resolve(text));
    stream.once('close', () => resolve(text));
  });
}

export interface WsSession {
  ws: WebSocket;
  /** Each channel's bytes so far. */
  channels: Map<number, string>;
  /** Resolves with the close code once the server closes. */
  closed: Promise<number>;
  send(channel: number, data: string | Buffer): void;
}

export function wsSession(url: string, protocols: string[]): Promise<WsSession> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols);
  const channels = new Map<number, string>();
  ws.on('message', (data: Buffer) => {
    const channel = data[0]!;
    channels.set(channel, (channels.get(channel) ?? '') + data.subarray(1).toString());
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () =>
      resolve({
        ws,
        channels,
        closed,
        send: (channel, data) =>
          ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]), { binary: true }),
      }),
    );
    ws.once('error', reject);
  });
}
