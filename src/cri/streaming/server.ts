/**
 * The streaming server: the HTTP endpoint the URLs of Exec, Attach and
 * PortForward point to (`/exec/<token>`, `/attach/<token>`,
 * `/portforward/<token>`), on 127.0.0.1 by default, as the kubelet's.
 * A token is redeemed once, by an upgrade to SPDY/3.1 or to WebSocket; the
 * session then runs on the backend.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { InvalidArgumentError } from '../../runtime/index.js';
import type { AttachRequest, ExecRequest, PortForwardRequest } from '../generated/api.js';
import type { StreamingUrls } from '../runtime-service.js';
import { runCommand, type CommandRequest } from './command.js';
import {
  PORT_FORWARD_PROTOCOL,
  servePortForward,
  type PortForwardRequest as ForwardRequest,
} from './portforward.js';
import { spdyCommandChannels, SPDY_COMMAND_PROTOCOLS } from './spdy-command.js';
import {
  HEADER_ACCEPTED_PROTOCOLS,
  isSpdyUpgrade,
  negotiate,
  offeredProtocols,
  refuseUpgrade,
} from './spdy.js';
import { DEFAULT_TOKEN_TTL_MS, TokenCache } from './tokens.js';
import type { StreamingBackend } from './types.js';
import { WS_COMMAND_PROTOCOLS, wsCommandChannels } from './ws-command.js';

/** The kubelet's default: how long a client may take to open a session's streams. */
export const DEFAULT_STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface StreamingServerOptions {
  backend: StreamingBackend;
  /** Default 127.0.0.1: the URLs are for clients on this host (the kubelet, crictl). */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  streamCreationTimeoutMs?: number;
  tokenTtlMs?: number;
}

type Pending =
  | { kind: 'exec' | 'attach'; request: CommandRequest }
  | { kind: 'portforward'; request: ForwardRequest };

const ROUTE = /^\/(exec|attach|portforward)\/([^/?]+)$/;

function checkId(name: string, value: string): void {
  if (typeof value !== 'string' || value === '' || value.length > 1024 || value.includes('\0')) {
    throw new InvalidArgumentError(`${name} must be a non-empty id, got ${JSON.stringify(value)}`);
  }
}

function checkStreams(request: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }) {
  if (request.tty && request.stderr) {
    throw new InvalidArgumentError('tty and stderr cannot both be true');
  }
  if (!request.stdin && !request.stdout && !request.stderr) {
    throw new InvalidArgumentError('one of stdin, stdout, or stderr must be set');
  }
}

export class StreamingServer implements StreamingUrls {
  readonly #http: Server;
  readonly #ws = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    // The protocol the session speaks is the one negotiated before the upgrade (ws would take the client's first).
    handleProtocols: (offered) => negotiate([...offered], WS_COMMAND_PROTOCOLS) ?? false,
  });
  readonly #tokens: TokenCache<Pending>;
  readonly #backend: StreamingBackend;
  readonly #streamCreationTimeoutMs: number;
  readonly #closing = new AbortController();
  readonly #sockets = new Set<Duplex>();
  readonly #sessions = new Set<Promise<void>>();
  #closed: Promise<void> | undefined;

  private constructor(
    http: Server,
    readonly baseUrl: string,
    options: StreamingServerOptions,
  ) {
    this.#http = http;
    this.#backend = options.backend;
    this.#tokens = new TokenCache<Pending>(options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS);
    this.#streamCreationTimeoutMs =
      options.streamCreationTimeoutMs ?? DEFAULT_STREAM_CREATION_TIMEOUT_MS;
    http.on('request', (req, res) => {
      // Only upgrades carry sessions; a plain request leaves the token unused.
      res.statusCode = ROUTE.test(new URL(req.url ?? '/', 'http://x').pathname) ? 400 : 404;
      res.end(res.statusCode === 400 ? 'an upgrade to SPDY/3.1 or WebSocket is required\n' : '');
    });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      this.#onUpgrade(req, socket, head);
    });
    http.on('clientError', (_err, socket: Duplex) => socket.destroy());
  }

  static async listen(options: StreamingServerOptions): Promise<StreamingServer> {
    const host = options.host ?? '127.0.0.1';
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const { port } = http.address() as AddressInfo;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    return new StreamingServer(http, `http://${hostPart}:${port}`, options);
  }

  execUrl(request: ExecRequest): Promise<string> {
    return this.#url(() => {
      checkId('container_id', request.containerId);
      if (!Array.isArray(request.cmd) || request.cmd.length === 0) {
        throw new InvalidArgumentError('cmd must not be empty');
      }
      checkStreams(request);
      return {
        kind: 'exec',
        request: {
          kind: 'exec',
          ...pickStreams(request),
          containerId: request.containerId,
          cmd: [...request.cmd],
        },
      };
    });
  }

  attachUrl(request: AttachRequest): Promise<string> {
    return this.#url(() => {
      checkId('container_id', request.containerId);
      checkStreams(request);
      return {
        kind: 'attach',
        request: {
          kind: 'attach',
          ...pickStreams(request),
          containerId: request.containerId,
          cmd: [],
        },
      };
    });
  }

  portForwardUrl(request: PortForwardRequest): Promise<string> {
    return this.#url(() => {
      checkId('pod_sandbox_id', request.podSandboxId);
      for (const port of request.port) {
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          throw new InvalidArgumentError(`port ${port} is not a TCP port (1 to 65535)`);
        }
      }
      return {
        kind: 'portforward',
        request: { podSandboxId: request.podSandboxId, ports: [...request.port] },
      };
    });
  }

  /** Stops serving: pending tokens die, sessions are cut off, sockets closed. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
      for (const socket of this.#sockets) socket.destroy();
      this.#http.closeAllConnections();
      await Promise.all([closed, ...this.#sessions]);
    })();
    return this.#closed;
  }

  #url(make: () => Pending): Promise<string> {
    try {
      if (this.#closing.signal.aborted)
        throw new InvalidArgumentError('the streaming server is closed');
      const pending = make();
      return Promise.resolve(`${this.baseUrl}/${pending.kind}/${this.#tokens.put(pending)}`);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const match = ROUTE.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!match || (req.method !== 'GET' && req.method !== 'POST')) {
      return refuseUpgrade(socket, 404, 'Not Found', 'no such streaming endpoint');
    }
    const pending = this.#tokens.consume(match[2]!);
    if (!pending || pending.kind !== match[1]) {
      return refuseUpgrade(socket, 404, 'Not Found', 'unknown or expired streaming token');
    }
    const websocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    if (!websocket && !isSpdyUpgrade(req)) {
      return refuseUpgrade(socket, 400, 'Bad Request', 'upgrade to SPDY/3.1 or WebSocket');
    }
    const offered = websocket
      ? (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
      : offeredProtocols(req);
    const supported: readonly string[] =
      pending.kind === 'portforward'
        ? websocket
          ? []
          : [PORT_FORWARD_PROTOCOL]
        : websocket
          ? WS_COMMAND_PROTOCOLS
          : SPDY_COMMAND_PROTOCOLS;
    const protocol = negotiate(offered, supported);
    if (!protocol) {
      return refuseUpgrade(
        socket,
        403,
        'Forbidden',
        `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offered)}, server supports ${JSON.stringify(supported)}`,
        { [HEADER_ACCEPTED_PROTOCOLS]: supported.join(', ') },
      );
    }
    const signal = this.#closing.signal;
    let session: Promise<void>;
    if (pending.kind === 'portforward') {
      session = servePortForward(
        this.#backend,
        pending.request,
        socket,
        head,
        { pairTimeoutMs: this.#streamCreationTimeoutMs },
        signal,
      );
    } else if (websocket) {
      session = new Promise<void>((resolve) => {
        this.#ws.handleUpgrade(req, socket, head, (ws) => {
          const channels = wsCommandChannels(ws, protocol, pending.request);
          const ended = new AbortController();
          ws.once('close', () => ended.abort());
          const both = AbortSignal.any([signal, ended.signal]);
          resolve(runCommand(this.#backend, pending.request, channels, both));
        });
      });
    } else {
      session = spdyCommandChannels(
        socket,
        head,
        protocol,
        pending.request,
        this.#streamCreationTimeoutMs,
        signal,
      ).then((channels) => {
        const ended = new AbortController();
        socket.once('close', () => ended.abort());
        return runCommand(
          this.#backend,
          pending.request,
          channels,
          AbortSignal.any([signal, ended.signal]),
        );
      });
    }
    const tracked = session.catch(() => {
      socket.destroy();
    });
    this.#sessions.add(tracked);
    void tracked.finally(() => this.#sessions.delete(tracked));
  }
}

function pickStreams(request: { tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }) {
  return {
    tty: request.tty,
    stdin: request.stdin,
    stdout: request.stdout,
    stderr: request.stderr,
  };
}
