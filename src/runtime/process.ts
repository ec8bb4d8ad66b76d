/**
 * One process of a container (its init, or an exec'd one), watched through its
 * shim. The seed's Process interface: ExitFD becomes `wait()`, everything that
 * talks to a shim or the runtime is async.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ControlFile,
  ControlMessage,
  ExitStatusFile,
  InitProcessID,
  State,
  UnknownStatus,
} from './constants.js';
import {
  AbortError,
  ContainerExitedError,
  ProcessClosedError,
  ProcessExitedError,
  ProcessNotExitedError,
  isErrnoException,
} from './errors.js';
import { ExitChannel } from './exit-channel.js';
import { readIntIfExists, writeFileAtomic } from './files.js';
import { isProcessLive, isSameProcess } from './procfs.js';
import { runRuntime } from './runtime-cli.js';
import type { Stdio } from './stdio.js';
import type { Container } from './container.js';

/** An OCI runtime-spec `process` object (config.json's, or an exec's). */
export interface ProcessSpec {
  args: string[];
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user?: { uid: number; gid: number; umask?: number; additionalGids?: number[]; username?: string };
  env?: string[];
  cwd?: string;
  capabilities?: Record<string, string[] | undefined>;
  rlimits?: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  selinuxLabel?: string;
  oomScoreAdj?: number;
  [field: string]: unknown;
}

/** process.json: the spec plus containerd's fields (the seed's ProcessState). */
export interface ProcessState extends ProcessSpec {
  exec: boolean;
  containerdStdin: string;
  containerdStdout: string;
  containerdStderr: string;
  runtimeArgs: string[];
  noPivotRoot: boolean;
  checkpoint: string;
  rootUID: number;
  rootGID: number;
}

export interface ProcessInit {
  owner: Container;
  id: string;
  dir: string;
  state: ProcessState;
  pid: number;
  startTime: string | undefined;
  /** The runtime started it already (exec, restore, or a one-call run). */
  started?: boolean;
  streams?: {
    stdin: Writable | null;
    stdout: Readable | null;
    stderr: Readable | null;
    destroy(): void;
  };
}

const KILLED_STATUS = 128 + 9;
const DEAD_SHIM_KILL_WAIT_MS = 10_000;

export class ContainerProcess implements AsyncDisposable {
  readonly id: string;
  /** The process folder `<root>/<container>/<id>`. */
  readonly dir: string;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;

  readonly #owner: Container;
  readonly #state: ProcessState;
  readonly #pid: number;
  readonly #startTime: string | undefined;
  readonly #started: boolean;
  readonly #destroyStreams: () => void;
  #exitStatus: number | undefined;
  #channel: ExitChannel | undefined;
  #waiters = 0;
  #closedByCaller = false;
  readonly #exited: Promise<number>;
  #settleExit!: (status: number) => void;
  #failExit!: (err: Error) => void;
  readonly #shimGone: Promise<void>;
  #markShimGone!: () => void;
  readonly #oomListeners = new Set<() => void>();

  constructor(init: ProcessInit) {
    this.id = init.id;
    this.dir = init.dir;
    this.#owner = init.owner;
    this.#state = init.state;
    this.#pid = init.pid;
    this.#startTime = init.startTime;
    this.#started = init.started ?? (init.state.exec || init.state.checkpoint !== '');
    this.stdin = init.streams?.stdin ?? null;
    this.stdout = init.streams?.stdout ?? null;
    this.stderr = init.streams?.stderr ?? null;
    this.#destroyStreams = init.streams?.destroy ?? (() => {});
    this.#exited = new Promise<number>((resolve, reject) => {
      this.#settleExit = resolve;
      this.#failExit = reject;
    });
    // Nobody may be waiting; a closed handle must not raise an unhandled rejection.
    this.#exited.catch(() => {});
    this.#shimGone = new Promise((resolve) => (this.#markShimGone = resolve));
  }

  /**
   * Begins watching the shim. Separate from the constructor so that a process
   * whose shim is already dead is settled (and its status file written) by the
   * time the container hands it out.
   */
  async watch(): Promise<void> {
    const recorded = readIntIfExists(join(this.dir, ExitStatusFile));
    if (recorded !== undefined) this.#settle(recorded);
    let deadShimHandled: Promise<void> | undefined;
    this.#channel = ExitChannel.open(this.dir, {
      onLine: (line) => this.#onShimLine(line),
      onClosed: () => {
        this.#markShimGone();
        if (!this.#closedByCaller)
          deadShimHandled = this.#onShimClosed().catch((err: Error) => this.#failExit(err));
      },
    });
    // Set synchronously when the shim was already gone.
    if (deadShimHandled) await deadShimHandled;
  }

  get isInit(): boolean {
    return this.id === InitProcessID;
  }

  /** The spec the process was created with. */
  get spec(): ProcessSpec {
    const {
      exec: _e,
      containerdStdin: _i,
      containerdStdout: _o,
      containerdStderr: _r,
      runtimeArgs: _a,
      noPivotRoot: _n,
      checkpoint: _c,
      rootUID: _u,
      rootGID: _g,
      ...spec
    } = this.#state;
    return spec as ProcessSpec;
  }

  /** The stdio paths the shim was given. */
  get stdio(): Stdio {
    return {
      stdin: this.#state.containerdStdin,
      stdout: this.#state.containerdStdout,
      stderr: this.#state.containerdStderr,
    };
  }

  /** The process's PID on the host. */
  get systemPid(): number {
    return this.#pid;
  }

  get containerId(): string {
    return this.#owner.id;
  }

  /** The container this process belongs to (the seed's Container()). */
  get container(): Container {
    return this.#owner;
  }

  /** Unblocks a created init process (runtime `start`); a no-op for processes the runtime started already. */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#started) return;
    if (this.#exitStatus !== undefined) throw new ContainerExitedError();
    await runRuntime(this.#owner, ['start', this.#owner.id], options);
  }

  /** Resolves with the exit status (code, or 128+signal) once the process has exited. */
  async wait(options: { signal?: AbortSignal } = {}): Promise<number> {
    if (this.#exitStatus !== undefined) return this.#exitStatus;
    const { signal } = options;
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    this.#holdLoop();
    let onAbort: (() => void) | undefined;
    try {
      if (!signal) return await this.#exited;
      return await Promise.race([
        this.#exited,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }));
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      this.#releaseLoop();
    }
  }

  /** The exit status; throws ProcessNotExitedError while the process runs. */
  exitStatus(): number {
    if (this.#exitStatus !== undefined) return this.#exitStatus;
    const recorded = readIntIfExists(join(this.dir, ExitStatusFile));
    if (recorded !== undefined) {
      this.#settle(recorded);
      return recorded;
    }
    throw new ProcessNotExitedError();
  }

  /** `running` until the process has exited, then `stopped`. */
  state(): State {
    return this.#exitStatus === undefined ? State.Running : State.Stopped;
  }

  /** Sends a signal straight to the process, after checking its PID was not reused. */
  async signal(sig: NodeJS.Signals | number): Promise<void> {
    if (this.#exitStatus !== undefined || !isSameProcess(this.#pid, this.#startTime)) {
      throw this.#exitedError();
    }
    try {
      process.kill(this.#pid, sig);
    } catch (err) {
      if (isErrnoException(err, 'ESRCH')) throw this.#exitedError();
      throw err;
    }
  }

  async closeStdin(): Promise<void> {
    this.#control(ControlMessage.CloseStdin, 0, 0);
  }

  /** Resizes the process's terminal to `width` columns by `height` rows. */
  async resize(width: number, height: number): Promise<void> {
    for (const [name, value] of [
      ['width', width],
      ['height', height],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value > 65535) {
        throw new RangeError(`${name} must be an integer from 0 to 65535, got ${value}`);
      }
    }
    this.#control(ControlMessage.Resize, width, height);
  }

  /** Calls `listener` each time the shim reports an OOM kill (init only). */
  onOom(listener: () => void): () => void {
    this.#oomListeners.add(listener);
    return () => this.#oomListeners.delete(listener);
  }

  /**
   * Resolves when the shim has exited (after the runtime's `delete` for init).
   * While awaited it keeps Node running, unless `keepAlive` is false.
   */
  async shimExited(options: { keepAlive?: boolean } = {}): Promise<void> {
    if (options.keepAlive === false) return this.#shimGone;
    this.#holdLoop();
    try {
      await this.#shimGone;
    } finally {
      this.#releaseLoop();
    }
  }

  /** Keeps Node running (for something that waits on this shim) until the returned function is called. */
  keepAlive(): () => void {
    this.#holdLoop();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#releaseLoop();
    };
  }

  /** The shim's channel keeps Node alive only while somebody awaits this process. */
  #holdLoop(): void {
    if (this.#waiters++ === 0) this.#channel?.ref();
  }

  #releaseLoop(): void {
    if (--this.#waiters === 0) this.#channel?.unref();
  }

  /** Stops watching and destroys the streams; the process itself runs on. */
  close(): void {
    this.#closedByCaller = true;
    this.#channel?.close();
    this.#destroyStreams();
    if (this.#exitStatus === undefined)
      this.#failExit(new ProcessClosedError(`process ${this.id} handle closed`));
    this.#markShimGone();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #exitedError(): Error {
    return this.isInit
      ? new ContainerExitedError()
      : new ProcessExitedError(`process ${this.id} of container ${this.#owner.id} has exited`);
  }

  #control(type: number, width: number, height: number): void {
    let fd: number;
    try {
      // The shim holds the FIFO open for reading while it lives: ENXIO means it is gone.
      fd = openSync(join(this.dir, ControlFile), constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if (isErrnoException(err, 'ENXIO') || isErrnoException(err, 'ENOENT'))
        throw this.#exitedError();
      throw err;
    }
    try {
      writeSync(fd, `${type} ${width} ${height}\n`);
    } finally {
      closeSync(fd);
    }
  }

  #onShimLine(line: string): void {
    if (line === 'oom') {
      for (const listener of this.#oomListeners) listener();
      return;
    }
    const match = /^exit (\d+)$/.exec(line);
    if (match) this.#settle(Number(match[1]));
  }

  async #onShimClosed(): Promise<void> {
    if (this.#exitStatus !== undefined) return;
    // The event line may have been consumed by an earlier reader: the file is authoritative.
    const recorded = readIntIfExists(join(this.dir, ExitStatusFile));
    if (recorded !== undefined) return this.#settle(recorded);
    const status = await this.#reapAfterDeadShim();
    writeFileAtomic(join(this.dir, ExitStatusFile), String(status));
    if (this.isInit) {
      await runRuntime(this.#owner, ['delete', '--force', this.#owner.id]).catch(() => {});
    }
    this.#settle(status);
  }

  /**
   * The shim died without recording an exit (containerd v0.2.8's rules): a
   * process that is gone or whose PID was reused gets UnknownStatus; one still
   * running unsupervised is killed and gets 128+SIGKILL.
   */
  async #reapAfterDeadShim(): Promise<number> {
    if (this.#pid <= 0 || !isSameProcess(this.#pid, this.#startTime)) return UnknownStatus;
    try {
      process.kill(this.#pid, 'SIGKILL');
    } catch (err) {
      if (isErrnoException(err, 'ESRCH')) return UnknownStatus;
      throw err;
    }
    const deadline = Date.now() + DEAD_SHIM_KILL_WAIT_MS;
    while (isProcessLive(this.#pid) && Date.now() < deadline) await sleep(5);
    return KILLED_STATUS;
  }

  #settle(status: number): void {
    if (this.#exitStatus !== undefined) return;
    this.#exitStatus = status;
    this.#settleExit(status);
  }
}
