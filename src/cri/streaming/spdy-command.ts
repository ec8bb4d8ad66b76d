/**
 * Exec and Attach over SPDY (remotecommand v2 to v4): the client opens an
 * `error` stream, then `stdin`, `stdout`, `stderr` as asked, and `resize`
 * with a tty (v3 and later); the session starts once all have arrived, or
 * fails if they have not within the stream creation timeout.
 */
import type { Duplex } from 'node:stream';
import { BerthError } from '../../runtime/index.js';
import type { CommandChannels, CommandRequest } from './command.js';
import { ResizeDecoder, TerminalSizeQueue } from './resize.js';
import { HEADER_STREAM_TYPE, acceptSpdy, type SpdyStream } from './spdy.js';
import { statusBytes, type MetaStatus } from './status.js';

/** The remotecommand protocols served over SPDY, newest first. */
export const SPDY_COMMAND_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
] as const;

export class StreamCreationTimeoutError extends BerthError {
  readonly code = 'ERR_STREAM_CREATION_TIMEOUT';
}

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

function expectedStreams(request: CommandRequest, protocol: string): Set<StreamType> {
  const expected = new Set<StreamType>(['error']);
  if (request.stdin) expected.add('stdin');
  if (request.stdout) expected.add('stdout');
  if (request.stderr && !request.tty) expected.add('stderr');
  if (request.tty && protocol !== 'v2.channel.k8s.io') expected.add('resize');
  return expected;
}

/** v4 writes a metav1.Status; v2 and v3 write the failure's message only, nothing on success. */
function encodeStatus(protocol: string, status: MetaStatus): Buffer | undefined {
  if (protocol === 'v4.channel.k8s.io') return statusBytes(status);
  return status.status === 'Success' ? undefined : Buffer.from(status.message ?? 'error');
}

/**
 * Upgrades the socket to SPDY with `protocol` and resolves with the
 * session's channels once the client has opened them all.
 */
export function spdyCommandChannels(
  socket: Duplex,
  head: Buffer,
  protocol: string,
  request: CommandRequest,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<CommandChannels> {
  const expected = expectedStreams(request, protocol);
  const received = new Map<StreamType, SpdyStream>();
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settle();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(new Error('streaming server closed'));
    const timer = setTimeout(
      () =>
        fail(
          new StreamCreationTimeoutError(
            `timed out waiting for the client's streams (${[...expected].filter((t) => !received.has(t)).join(', ')}) after ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    const connection = acceptSpdy(socket, head, protocol, (stream) => {
      const type = stream.headers[HEADER_STREAM_TYPE] as StreamType | undefined;
      if (settled || !type || !expected.has(type) || received.has(type)) {
        // Not one this session asked for (the kubelet rejects it too).
        stream.abort();
        return;
      }
      received.set(type, stream);
      if (received.size < expected.size) return;
      settle();
      resolve(channelsOf(received, request, protocol, socket, connection));
    });
    connection.on('close', () => fail(new Error('the client closed the connection')));
  });
}

function channelsOf(
  streams: Map<StreamType, SpdyStream>,
  request: CommandRequest,
  protocol: string,
  socket: Duplex,
  connection: { end(): void },
): CommandChannels {
  const resizeStream = streams.get('resize');
  let resize: TerminalSizeQueue | null = null;
  if (resizeStream) {
    const queue = new TerminalSizeQueue();
    const decoder = new ResizeDecoder();
    resizeStream.on('data', (chunk: Buffer) => {
      try {
        for (const size of decoder.push(chunk)) queue.push(size);
      } catch {
        // A malformed size ends the resizes, not the session (the kubelet logs and goes on).
        resizeStream.removeAllListeners('data');
        queue.end();
      }
    });
    resizeStream.on('end', () => queue.end());
    resize = queue;
  }
  const errorStream = streams.get('error')!;
  return {
    streams: {
      tty: request.tty,
      stdin: streams.get('stdin') ?? null,
      stdout: streams.get('stdout') ?? null,
      stderr: streams.get('stderr') ?? null,
      resize,
    },
    writeStatus: (status) =>
      new Promise<void>((resolve) => {
        const bytes = encodeStatus(protocol, status);
        if (bytes) errorStream.end(bytes, () => resolve());
        else errorStream.end(() => resolve());
      }),
    close: () => {
      connection.end();
      // The client closes once it has read everything; a client that does not is cut off.
      const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    },
  };
}

/** How long a finished session waits for the client to close the connection. */
const CLOSE_GRACE_MS = 5_000;
