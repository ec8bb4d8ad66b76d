/**
 * Serves the CRI (runtime.v1 RuntimeService and ImageService) on its own unix
 * socket, owner-only from bind (0600), like the containerd API's socket: a
 * stale socket is replaced, a live one is not, and close() removes only the
 * socket it made. Connections are accepted here and handed to grpc-js through
 * an AuthorityRewriter (authority.ts): Go clients send the socket path as
 * `:authority`, which Node's HTTP/2 layer refuses.
 */
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { bindOwnerOnly, removeStaleSocket } from '../api/server.js';
import { socketPath } from '../api/address.js';
import { authorityRewritingConnection } from './authority.js';
import { ImageServiceService, RuntimeServiceService } from './generated/api.js';
import type { Logger } from 'pino';
import { imageService } from './image-service.js';
import { runtimeService, type RuntimeServiceOptions } from './runtime-service.js';

/** Where berthd serves the CRI unless told otherwise (`--cri-listen`). */
export const DEFAULT_CRI_ADDRESS = 'unix:///run/berth/cri.sock';

/** How long close() lets calls in flight finish before it cuts them off. */
const DEFAULT_GRACE_MS = 5_000;

/** The RuntimeService's options (its `store` also backs the ImageService: without it, UNIMPLEMENTED), and the server's. */
export interface CriServeOptions extends RuntimeServiceOptions {
  /** How long close() waits for calls in flight (default 5 s). */
  graceMs?: number;
  /** Where unexpected errors are logged. */
  logger?: Logger;
}

/** net.Server#listen as a promise. */
function listenOn(server: NetServer, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export class CriServer {
  readonly #server: Server;
  readonly #listener: NetServer;
  readonly #connections: Set<Socket>;
  readonly #socketIno: number;
  readonly #graceMs: number;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    server: Server,
    listener: NetServer,
    connections: Set<Socket>,
    socketIno: number,
    graceMs: number,
  ) {
    this.#server = server;
    this.#listener = listener;
    this.#connections = connections;
    this.#socketIno = socketIno;
    this.#graceMs = graceMs;
  }

  /** Serves the CRI on `address` (unix:///path); resolves once connections are served. */
  static async listen(address: string, options: CriServeOptions = {}): Promise<CriServer> {
    const path = socketPath(address);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await removeStaleSocket(path);
    const server = new Server();
    server.addService(RuntimeServiceService, runtimeService(options));
    server.addService(
      ImageServiceService,
      imageService({
        ...(options.store && { store: options.store }),
        ...(options.logger && { logger: options.logger }),
      }),
    );
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    const connections = new Set<Socket>();
    const listener = createServer((socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
      injector.injectConnection(authorityRewritingConnection(socket));
    });
    const ino = await bindOwnerOnly(
      path,
      () => listenOn(listener, path),
      () => {
        listener.close();
        server.forceShutdown();
      },
    );
    return new CriServer(
      path,
      server,
      listener,
      connections,
      ino,
      options.graceMs ?? DEFAULT_GRACE_MS,
    );
  }

  /** Stops serving: calls in flight get `graceMs`, then the socket is removed. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        for (const socket of this.#connections) socket.destroy();
        resolve();
      }, this.#graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    for (const socket of this.#connections) socket.destroy();
    await listenerClosed;
    try {
      if (lstatSync(this.path).ino === this.#socketIno) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}
