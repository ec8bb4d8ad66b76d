/**
 * Serves the gRPC API on a unix socket that only its owner can use: the
 * socket is created with mode 0600 (umask 0177 around the bind) and checked
 * before the first connection is served. A stale socket left by a dead daemon
 * is replaced; a live one is not.
 */
import { createConnection } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { InvalidArgumentError, isErrnoException } from '../runtime/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import { APIService } from './generated/berth.js';
import { socketPath } from './address.js';
import { HealthService } from './generated/grpc/health/v1/health.js';
import { healthService } from './health.js';
import { ApiService, type ApiServiceOptions } from './service.js';

/** How long close() lets unary calls in flight finish before it cuts them off. */
const DEFAULT_GRACE_MS = 5_000;

/** Whether something accepts connections on the socket at `path`. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Clears the way for a new socket at `path`: nothing there, or a dead daemon's socket. */
export async function removeStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new InvalidArgumentError(`${path} exists and is not a socket: not replacing it`);
  }
  if (await socketIsLive(path)) {
    throw new InvalidArgumentError(
      `${path} is in use: another daemon is serving on it (stop it, or choose another --listen)`,
    );
  }
  unlinkSync(path);
}

/**
 * Binds a unix socket owner-only from the moment it exists (bind(2) applies
 * the umask, and a server serves as soon as it listens), and returns its
 * inode, by which `close()` knows the socket at the path is still its own.
 * `undo` releases the server when the bind or the check fails.
 */
export async function bindOwnerOnly(
  path: string,
  listen: () => Promise<void>,
  undo: () => void,
): Promise<number> {
  const umask = process.umask(0o177);
  try {
    await listen();
  } catch (err) {
    undo();
    throw err;
  } finally {
    process.umask(umask);
  }
  try {
    const stat = lstatSync(path);
    if ((stat.mode & 0o777) !== 0o600) chmodSync(path, 0o600);
    return stat.ino;
  } catch (err) {
    undo();
    throw err;
  }
}

/** grpc-js' bindAsync as a promise. */
function bind(server: Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

export interface ServeOptions extends ApiServiceOptions {
  /** How long close() waits for unary calls in flight (default 5 s). */
  graceMs?: number;
}

export class ApiServer {
  readonly #server: Server;
  readonly #service: ApiService;
  readonly #graceMs: number;
  /** The socket file we made (its inode), so that close() removes ours and no one else's. */
  readonly #socketIno: number;
  readonly #stopServing: () => void;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    server: Server,
    service: ApiService,
    socketIno: number,
    graceMs: number,
    stopServing: () => void,
  ) {
    this.#stopServing = stopServing;
    this.#server = server;
    this.#service = service;
    this.#socketIno = socketIno;
    this.#graceMs = graceMs;
  }

  /** Serves `supervisor` on `address` (unix:///path); resolves once connections are served. */
  static async listen(
    supervisor: SupervisorApi,
    address: string,
    options: ServeOptions = {},
  ): Promise<ApiServer> {
    const path = socketPath(address);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await removeStaleSocket(path);

    const service = new ApiService(supervisor, options);
    const server = new Server();
    server.addService(APIService, service.implementation);
    // Docker's libcontainerd polls it to tell a live daemon from a dead one.
    let serving = true;
    server.addService(
      HealthService,
      healthService(() => serving),
    );
    const ino = await bindOwnerOnly(
      path,
      () => bind(server, `unix://${path}`),
      () => server.forceShutdown(),
    );
    return new ApiServer(path, server, service, ino, options.graceMs ?? DEFAULT_GRACE_MS, () => {
      serving = false;
    });
  }

  /**
   * Stops serving: no new connections, event streams end (UNAVAILABLE),
   * unary calls in flight get `graceMs` to finish, then the socket is removed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stopServing();
    this.#service.shutdown();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, this.#graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      if (lstatSync(this.path).ino === this.#socketIno) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

/** Serves the gRPC API of `supervisor` on the unix socket `address`. */
export function serve(
  supervisor: SupervisorApi,
  address: string,
  options: ServeOptions = {},
): Promise<ApiServer> {
  return ApiServer.listen(supervisor, address, options);
}
