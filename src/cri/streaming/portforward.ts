/**
 * PortForward over SPDY (`portforward.k8s.io`): for each connection it
 * forwards, the client opens a pair of streams with the same `requestID`
 * and `port` headers, an `error` stream (which it closes: only the server
 * writes there) and a `data` stream carrying the bytes both ways. A pair
 * runs until either side closes; a failure is written as text on its error
 * stream. The session lasts until the client closes the connection.
 */
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
import { HEADER_PORT, HEADER_REQUEST_ID, HEADER_STREAM_TYPE, type SpdyStream } from './spdy.js';
import { acceptSpdy } from './spdy.js';
import type { StreamingBackend } from './types.js';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

/** What a PortForward URL was handed out for. */
export interface PortForwardRequest {
  podSandboxId: string;
  /** The ports the client may forward; empty allows any. */
  ports: number[];
}

/** How long the second stream of a pair may lag behind the first (the kubelet's stream creation timeout). */
export interface PortForwardOptions {
  pairTimeoutMs: number;
}

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

function parsePort(text: string | undefined): number | undefined {
  if (!text || !/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

export function servePortForward(
  backend: StreamingBackend,
  request: PortForwardRequest,
  socket: Duplex,
  head: Buffer,
  options: PortForwardOptions,
  signal: AbortSignal,
): Promise<void> {
  const pairs = new Map<string, Pair>();
  const running = new Set<Promise<void>>();
  const session = new AbortController();
  const stop = () => session.abort();
  signal.addEventListener('abort', stop, { once: true });

  const run = async (pair: Required<Omit<Pair, 'timer'>>) => {
    const port = parsePort(pair.data.headers[HEADER_PORT]);
    try {
      if (port === undefined) {
        throw new Error(`invalid port header ${JSON.stringify(pair.data.headers[HEADER_PORT])}`);
      }
      if (request.ports.length > 0 && !request.ports.includes(port)) {
        throw new Error(`port ${port} was not asked for in this PortForward request`);
      }
      await backend.portForward(request.podSandboxId, port, pair.data, session.signal);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      pair.error.write(
        `error forwarding port ${port ?? '?'} to pod ${request.podSandboxId}: ${message}`,
      );
    } finally {
      if (!pair.data.writableEnded) pair.data.end();
      pair.error.end();
      await Promise.all([
        finished(pair.data, { readable: false }).catch(() => {}),
        finished(pair.error, { readable: false }).catch(() => {}),
      ]);
    }
  };

  return new Promise<void>((resolve) => {
    const connection = acceptSpdy(socket, head, PORT_FORWARD_PROTOCOL, (stream) => {
      const type = stream.headers[HEADER_STREAM_TYPE];
      const id = stream.headers[HEADER_REQUEST_ID];
      if ((type !== 'error' && type !== 'data') || !id) {
        stream.abort();
        return;
      }
      let pair = pairs.get(id);
      if (!pair) {
        const timer = setTimeout(() => {
          // Half a pair never completed: drop it.
          pairs.get(id)?.error?.abort();
          pairs.get(id)?.data?.abort();
          pairs.delete(id);
        }, options.pairTimeoutMs);
        pair = { timer };
        pairs.set(id, pair);
      }
      if (pair[type]) {
        stream.abort();
        return;
      }
      pair[type] = stream;
      if (pair.error && pair.data) {
        clearTimeout(pair.timer);
        pairs.delete(id);
        const job = run({ error: pair.error, data: pair.data });
        running.add(job);
        void job.finally(() => running.delete(job));
      }
    });
    connection.on('close', () => {
      stop();
      signal.removeEventListener('abort', stop);
      for (const pair of pairs.values()) clearTimeout(pair.timer);
      pairs.clear();
      void Promise.all(running).then(() => resolve());
    });
    session.signal.addEventListener('abort', () => socket.destroy(), { once: true });
  });
}
