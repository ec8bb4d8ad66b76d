/**
 * One process of a container (its init, or an exec'd one), watched through its
 * shim. The seed's Process interface (docs/SEED.md): ExitFD becomes `wait()`, everything that
 * talks to a shim or the runtime is async.
 */
import { closeSync, constants, existsSync, openSync, writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { InitProcessID, KilledStatus, State, UnknownStatus } from './constants.js';
import {
  AbortError,
  ContainerExitedError,
  InvalidArgumentError,
  NoTerminalError,
  ProcessClosedError,
  ProcessExitedError,
  ProcessNotExitedError,
  RuntimeError,
  isErrnoException,
} from './errors.js';
import { deleteCommand, startCommand } from './oci/commands.js';
import { runRuntime, type RuntimeBinary } from './oci/cli.js';
import type { ProcessSpec } from './oci/spec.js';
import { isProcessLive, isSameProcess } from './procfs.js';
import { ExitChannel } from './shim/exit-channel.js';
import {
  ControlMessage,
  formatControlLine,
  parseEventLine,
  type OutputStream,
} from './shim/protocol.js';
import type { ProcessFiles } from './state/layout.js';
import {
  claimExitStatus,
  readExitStatus,
  readPid,
  readStartTime,
  type ProcessState,
} from './state/records.js';
import type { Stdio } from './stdio.js';

/** What a process needs of its container: nothing more, so a process never reaches into it. */
export interface ProcessOwner extends RuntimeBinary {
  readonly id: string;
  /** Start timeout, milliseconds: bounds the runtime's `start`. */
  readonly timeout: number;
}

export interface ProcessInit<Owner extends ProcessOwner> {
  owner: Owner;
  id: string;
  files: ProcessFiles;
  state: ProcessState;
  pid: number;
  startTime: string | undefined;
  /**
   * The runtime started it already (exec, restore, or a one-call run): true;
   * created and waiting for `start()`: false; picked up from disk: undefined.
   */
  started: boolean | undefined;
  streams?: {
    stdin: Writable | null;
    stdout: Readable | null;
    stderr: Readable | null;
    destroy(): void;
  };
}

const DEAD_SHIM_KILL_WAIT_MS = 10_000;

export class ContainerProcess<
  Owner extends ProcessOwner = ProcessOwner,
> implements AsyncDisposable {
  readonly id: string;
  /** The process folder `<root>/<container>/<id>`. */
  readonly dir: string;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;

  readonly #owner: Owner;
  readonly #files: ProcessFiles;
  readonly #state: ProcessState;
  /** 0 while unknown: picked up from disk before the runtime wrote its pid file. */
  #pid: number;
  #startTime: string | undefined;
  #started: boolean | undefined;
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
  readonly #lostOutput = new Set<OutputStream>();
  #runtimeDeleted = false;

  constructor(init: ProcessInit<Owner>) {
    this.id = init.id;
    this.dir = init.files.dir;
    this.#owner = init.owner;
    this.#files = init.files;
    this.#state = init.state;
    this.#pid = init.pid;
    this.#startTime = init.startTime;
    this.#started = init.started;
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
    // A status already on disk is not settled here while the shim lives: its
    // `exit` line comes after the output is drained and any loss reported.
    let deadShimHandled: Promise<void> | undefined;
    this.#channel = ExitChannel.open(this.#files.exit, {
      onLine: (line) => this.#onShimLine(line),
      onClosed: () => {
        // A shim gone before this watched took its lines along: its file says it all the same.
        if (this.isInit && !this.#runtimeDeleted)
          this.#runtimeDeleted = existsSync(this.#files.runtimeDeleted);
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

  /** The process's PID on the host; 0 if it never had one (a start cut short). */
  get systemPid(): number {
    if (this.#pid === 0) {
      // Loaded while the runtime was still creating it: the pid file comes later.
      const pid = readPid(this.#files);
      if (pid !== undefined) {
        this.#pid = pid;
        this.#startTime = readStartTime(this.#files);
      }
    }
    return this.#pid;
  }

  get containerId(): string {
    return this.#owner.id;
  }

  /** The container this process belongs to (the seed's Container()). */
  get container(): Owner {
    return this.#owner;
  }

  /** False for an init created by `container.start()` and not started yet; undefined when unknown (loaded from disk). */
  get started(): boolean | undefined {
    return this.#started;
  }

  /**
   * Streams whose end the shim discarded after the process exited, because
   * their reader had stopped reading (shim/PROTOCOL.md, "Stdio"). Empty when
   * every byte was delivered.
   */
  get lostOutput(): readonly OutputStream[] {
    return [...this.#lostOutput];
  }

  /**
   * True once the init's shim reported that the runtime's `delete` succeeded
   * after the exit: the runtime holds no state and no cgroups for the
   * container any more (shim/PROTOCOL.md, `deleted`).
   */
  get runtimeDeleted(): boolean {
    return this.#runtimeDeleted;
  }

  /** Unblocks a created init process (runtime `start`); a no-op for processes the runtime started already. */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#started === true) return;
    if (this.#exitStatus !== undefined) throw new ContainerExitedError();
    try {
      await runRuntime(this.#owner, startCommand(this.#owner.id), {
        ...options,
        timeoutMs: this.#owner.timeout,
      });
    } catch (err) {
      // Picked up from disk: it may well have been started by whoever created it.
      if (
        this.#started === undefined &&
        err instanceof RuntimeError &&
        /already running|cannot start .*running/i.test(err.message)
      ) {
        this.#started = true;
        return;
      }
      // runc read the init's start byte from exec.fifo (the init runs from that
      // moment), then found the FIFO gone: the init exited at once and its shim's
      // runtime delete removed the runtime state first. The start happened.
      if (err instanceof RuntimeError && /remove \S*exec\.fifo: no such file/i.test(err.message)) {
        this.#started = true;
        return;
      }
      throw err;
    }
    this.#started = true;
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
    const recorded = readExitStatus(this.#files);
    if (recorded !== undefined) return recorded;
    throw new ProcessNotExitedError();
  }

  /** `running` until the process has exited, then `stopped`. */
  state(): State {
    return this.#exitStatus === undefined ? State.Running : State.Stopped;
  }

  /** Sends a signal straight to the process, after checking its PID was not reused. */
  async signal(sig: NodeJS.Signals | number): Promise<void> {
    this.#requireRunning();
    const pid = this.systemPid;
    if (!isSameProcess(pid, this.#startTime)) throw this.#exitedError();
    try {
      process.kill(pid, sig);
    } catch (err) {
      if (isErrnoException(err, 'ESRCH')) throw this.#exitedError();
      throw err;
    }
  }

  /** Gives the process EOF on its stdin (after what was already written). */
  async closeStdin(): Promise<void> {
    this.#requireRunning();
    this.#control(ControlMessage.CloseStdin, 0, 0);
  }

  /**
   * Tells the shim that nobody wants the process's output any more: what it
   * holds and all the process writes from now on is dropped, so that the
   * exit is reported without waiting for a reader (a forced delete). The
   * Node streams get nothing more. A no-op once the shim is gone.
   */
  discardOutput(): void {
    try {
      this.#control(ControlMessage.DiscardOutput, 0, 0);
    } catch (err) {
      if (!(err instanceof ContainerExitedError || err instanceof ProcessExitedError)) throw err;
    }
  }

  /** Resizes the process's terminal to `width` columns by `height` rows. */
  async resize(width: number, height: number): Promise<void> {
    for (const [name, value] of [
      ['width', width],
      ['height', height],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value > 65535) {
        throw new InvalidArgumentError(`${name} must be an integer from 0 to 65535, got ${value}`);
      }
    }
    this.#requireRunning();
    if (!this.#state.terminal)
      throw new NoTerminalError(
        `process ${this.id} of container ${this.#owner.id} has no terminal`,
      );
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

  #requireRunning(): void {
    if (this.#exitStatus !== undefined) throw this.#exitedError();
  }

  #exitedError(): Error {
    return this.isInit
      ? new ContainerExitedError()
      : // "no such process", as the kernel says it: clients match on it (Docker's kill does).
        new ProcessExitedError(
          `process ${this.id} of container ${this.#owner.id} has exited: no such process`,
        );
  }

  #control(type: ControlMessage, width: number, height: number): void {
    let fd: number;
    try {
      // The shim holds the FIFO open for reading while it lives: ENXIO means it is gone.
      fd = openSync(this.#files.control, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if (isErrnoException(err, 'ENXIO') || isErrnoException(err, 'ENOENT'))
        throw this.#exitedError();
      throw err;
    }
    try {
      writeSync(fd, formatControlLine(type, width, height));
    } finally {
      closeSync(fd);
    }
  }

  #onShimLine(line: string): void {
    const event = parseEventLine(line);
    switch (event.type) {
      case 'oom':
        for (const listener of this.#oomListeners) listener();
        break;
      case 'lost':
        this.#lostOutput.add(event.stream);
        break;
      case 'exit':
        this.#settle(event.status);
        break;
      case 'deleted':
        this.#runtimeDeleted = true;
        break;
      case 'unknown':
        // A newer shim's event: nothing this library acts on.
        break;
    }
  }

  async #onShimClosed(): Promise<void> {
    if (this.#exitStatus !== undefined) return;
    // The event line may have been consumed by an earlier reader: the file is authoritative.
    const recorded = readExitStatus(this.#files);
    if (recorded !== undefined) return this.#settle(recorded);
    // Never had a PID: its start was cut short (its shim may even be starting
    // still). Nothing to record or delete on disk on its behalf.
    if (this.systemPid === 0) return this.#settle(UnknownStatus);
    const status = await this.#reapAfterDeadShim();
    if (this.isInit) {
      await runRuntime(this.#owner, deleteCommand(this.#owner.id, { force: true })).catch(() => {});
    }
    this.#settle(status);
  }

  /**
   * The shim died without recording an exit (containerd v0.2.8's rules): a
   * process that is gone or whose PID was reused gets UnknownStatus; one still
   * running unsupervised is killed and gets 128+SIGKILL. Every supervisor
   * watching the shim gets here at once: the first to record a status decides
   * for all, and 137 is recorded before the kill, so that the others find it
   * rather than a process that is gone (which would make it 255).
   */
  async #reapAfterDeadShim(): Promise<number> {
    if (this.systemPid <= 0 || !isSameProcess(this.#pid, this.#startTime))
      return this.#claimStatus(UnknownStatus);
    const status = this.#claimStatus(KilledStatus);
    try {
      process.kill(this.#pid, 'SIGKILL');
    } catch (err) {
      if (!isErrnoException(err, 'ESRCH')) throw err;
    }
    const deadline = Date.now() + DEAD_SHIM_KILL_WAIT_MS;
    while (isProcessLive(this.#pid) && Date.now() < deadline) await sleep(5);
    return status;
  }

  /** The status that stands; if it cannot be recorded (a full disk), this supervisor's own. */
  #claimStatus(status: number): number {
    try {
      return claimExitStatus(this.#files, status);
    } catch {
      return status;
    }
  }

  #settle(status: number): void {
    if (this.#exitStatus !== undefined) return;
    this.#exitStatus = status;
    this.#settleExit(status);
  }
}
