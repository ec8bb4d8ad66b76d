/**
 * A container: its record on disk, its processes, and the runtime calls that
 * act on it as a whole. The seed's Container interface and its New / Load (docs/SEED.md).
 */
import { rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerCgroup, memoryCgroup } from './cgroups/container-cgroup.js';
import { CgroupNotFoundError } from './cgroups/errors.js';
import { removeEmptyCgroups, runtimeCgroupDirs } from './cgroups/runtime-cgroups.js';
import type { CgroupPaths } from './cgroups/paths.js';
import type { Stat } from './cgroups/types.js';
import {
  deleteCheckpoint,
  listCheckpoints,
  prepareCheckpoint,
  readCheckpoint,
  restoreFlags,
  type Checkpoint,
} from './checkpoint.js';
import { InitProcessID, State, type RuntimeStatus } from './constants.js';
import {
  BerthError,
  ContainerExistsError,
  ContainerExitedError,
  ContainerNotStartedError,
  ContainerRunningError,
  InvalidArgumentError,
  ProcessExistsError,
  ProcessNotExitedError,
  ProcessNotFoundError,
  RuntimeError,
  isErrnoException,
} from './errors.js';
import { launchProcess } from './launch.js';
import { loadEach, loadProcesses } from './load.js';
import { checkProcessSpec, readBundleConfig } from './oci/bundle.js';
import { CHECKPOINT_TIMEOUT_MS, resolveExecutable, runRuntime } from './oci/cli.js';
import {
  deleteCommand,
  hasRootArg,
  hasSystemdCgroupArg,
  isNotExistMessage,
  runtimeStateExists,
  pauseCommand,
  resumeCommand,
  stateCommand,
  updateCommand,
} from './oci/commands.js';
import type { BundleConfig, ProcessSpec } from './oci/spec.js';
import { OomWatcher } from './oom.js';
import { readOwnedRootfs, recordRootfsOwner, releaseRootfs } from './rootfs.js';
import { ContainerProcess } from './process.js';
import { updateRequest, type Resource } from './resources.js';
import { defaultShimPath } from './shim/binary.js';
import { isPlainRuntimeDelete, shimMayDeleteRuntimeState } from './shim/self-delete.js';
import { stateWriteError } from './state/files.js';
import { containerDir, runtimeStateDir } from './state/layout.js';
import {
  newProcessState,
  readContainerRecord,
  writeContainerRecord,
  type ContainerRecord,
} from './state/records.js';
import { newStdio, validateStdio } from './stdio.js';
import { validateId } from './validate.js';
import {
  DEFAULT_RUNTIME,
  checkDrainTimeout,
  checkStrings,
  checkTimeout,
  type CallOptions,
  type ContainerOpts,
  type ExecOptions,
  type LoadAllResult,
  type LoadOptions,
  type RunOptions,
  type StartOptions,
} from './options.js';

/** How long `delete()` waits for a killed init, then for the shims to finish. */
const STOP_WAIT_MS = 10_000;

export class Container implements AsyncDisposable {
  readonly root: string;
  readonly id: string;
  /** The bundle's absolute path (the seed's Path()). */
  readonly path: string;
  readonly runtime: string;
  readonly runtimeArgs: readonly string[];
  readonly shim: string;
  readonly labels: readonly string[];
  readonly noPivotRoot: boolean;
  /** Start timeout, milliseconds. */
  readonly timeout: number;
  readonly #processes = new Map<string, ContainerProcess<Container>>();
  #config: BundleConfig | undefined;
  /** Whether runc's delete of this container, once stopped, only removes its state and cgroups (shim/self-delete.ts). */
  #plainDelete = false;
  readonly #record: ContainerRecord;
  readonly #cgroup = new ContainerCgroup();

  private constructor(
    root: string,
    id: string,
    record: ContainerRecord,
    timeout: number,
    config?: BundleConfig,
  ) {
    this.root = root;
    this.id = id;
    this.path = record.bundle;
    this.runtime = record.runtime;
    this.runtimeArgs = Object.freeze([...record.runtimeArgs]);
    this.shim = record.shim;
    this.labels = Object.freeze([...record.labels]);
    this.noPivotRoot = record.noPivotRoot;
    this.timeout = timeout;
    if (config) this.#keepConfig(config);
    this.#record = { ...record };
  }

  /** The container's state folder. */
  get dir(): string {
    return containerDir(this.root, this.id);
  }

  /** The seed's New: checks everything, then records the container. Nothing runs yet. */
  static async create(opts: ContainerOpts): Promise<Container> {
    const id = validateId('container id', opts.id);
    if (typeof opts.root !== 'string' || opts.root === '')
      throw new InvalidArgumentError('root is required');
    if (typeof opts.bundle !== 'string' || opts.bundle === '')
      throw new InvalidArgumentError('bundle is required');
    const labels = checkStrings('labels', opts.labels ?? []);
    const givenArgs = checkStrings('runtimeArgs', opts.runtimeArgs ?? []);
    const timeout = checkTimeout(opts.timeout);
    const root = resolve(opts.root);
    const bundle = resolve(opts.bundle);
    const config = readBundleConfig(bundle);
    const rootfs = readOwnedRootfs(bundle, config);
    const runtime = opts.runtime || DEFAULT_RUNTIME;
    resolveExecutable(runtime, 'OCI runtime');
    const shim = resolveExecutable(opts.shim || defaultShimPath(), 'shim');
    const runtimeArgs = hasRootArg(givenArgs)
      ? givenArgs
      : ['--root', runtimeStateDir(root, runtime), ...givenArgs];

    const dir = containerDir(root, id);
    try {
      await mkdir(root, { recursive: true, mode: 0o711 });
      await mkdir(dir, { mode: 0o711 });
    } catch (err) {
      if (isErrnoException(err, 'EEXIST'))
        throw new ContainerExistsError(`container ${id} already exists`);
      throw stateWriteError(dir, err);
    }
    const record: ContainerRecord = {
      bundle,
      labels,
      ...newStdio(),
      runtime,
      runtimeArgs,
      shim,
      noPivotRoot: opts.noPivotRoot ?? false,
      ...(rootfs ? { rootfs } : {}),
    };
    try {
      await writeContainerRecord(dir, record);
      if (rootfs) recordRootfsOwner(bundle, { root, id });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new Container(root, id, record, timeout, config);
  }

  /**
   * The seed's Load: picks a container and its processes back up from disk.
   * A record that cannot be read back throws CorruptStateError.
   */
  static async load(root: string, id: string, options: LoadOptions = {}): Promise<Container> {
    validateId('container id', id);
    const record = readContainerRecord(containerDir(resolve(root), id), id);
    if (options.shim) record.shim = options.shim;
    const container = new Container(resolve(root), id, record, checkTimeout(options.timeout));
    for (const loaded of await loadProcesses(container, container.dir))
      container.#processes.set(loaded.id, loaded);
    return container;
  }

  /**
   * Every container recorded under `root`. What is not a container folder is
   * skipped; a broken container is reported in `errors` and does not keep the
   * others from loading.
   */
  static async loadAll(root: string, options: LoadOptions = {}): Promise<LoadAllResult> {
    return loadEach(root, (id) => Container.load(root, id, options));
  }

  /** Creates the init process (runtime `create`, or `restore` from a checkpoint); `start()` on it runs it. */
  async start(options: StartOptions = {}): Promise<ContainerProcess<Container>> {
    return this.#startInit(options, false);
  }

  /**
   * Creates and starts the init process in one runtime call (`run -d`): one
   * runtime process fewer than `start()` then `process.start()`, for callers
   * with nothing to do between the two.
   */
  async run(options: RunOptions = {}): Promise<ContainerProcess<Container>> {
    return this.#startInit(options, true);
  }

  async #startInit(
    options: StartOptions,
    immediately: boolean,
  ): Promise<ContainerProcess<Container>> {
    if (this.#processes.has(InitProcessID)) {
      throw new ProcessExistsError(`container ${this.id} has already been started`);
    }
    const config = this.#bundleConfig();
    let checkpointPath = '';
    let restoreArgs: string[] = [];
    if (options.checkpoint !== undefined) {
      const checkpointDir = options.checkpointDir ?? this.#defaultCheckpointDir();
      restoreArgs = restoreFlags(readCheckpoint(options.checkpoint, checkpointDir));
      checkpointPath = join(checkpointDir, options.checkpoint);
    }
    const state = newProcessState(config.process, this, {
      exec: false,
      checkpoint: checkpointPath,
    });
    const init = await launchProcess(this, {
      processId: InitProcessID,
      mode: checkpointPath ? 'restore' : immediately ? 'run' : 'create',
      state,
      stdio: options.stdio ?? {},
      signal: options.signal,
      drainTimeout: checkDrainTimeout(options.drainTimeout),
      restoreArgs,
      cgroupsPath: config.linux?.cgroupsPath,
      rootfs: this.#record.rootfs,
      selfDelete: this.#plainDelete && shimMayDeleteRuntimeState(this.runtime, state.runtimeArgs),
    });
    this.#processes.set(InitProcessID, init);
    const { containerdStdin: stdin, containerdStdout: stdout, containerdStderr: stderr } = state;
    const record = this.#record;
    if (record.stdin !== stdin || record.stdout !== stdout || record.stderr !== stderr) {
      Object.assign(record, { stdin, stdout, stderr });
      await writeContainerRecord(this.dir, record);
    }
    return init;
  }

  /** Starts another process in the running container (runtime `exec -d`). */
  async exec(
    processId: string,
    spec: ProcessSpec,
    options: ExecOptions = {},
  ): Promise<ContainerProcess<Container>> {
    validateId('process id', processId);
    if (processId === InitProcessID || this.#processes.has(processId)) {
      throw new ProcessExistsError(`process ${processId} already exists in container ${this.id}`);
    }
    try {
      checkProcessSpec(spec, `process ${processId}`);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    validateStdio(options.stdio ?? {});
    this.#requireStartedInit();
    // What the exec leaves out comes from the container's own process, as a shell in it would have.
    const { terminal: _terminal, consoleSize: _size, ...inherited } = this.#bundleConfig().process;
    const state = newProcessState({ ...inherited, terminal: false, ...spec }, this, {
      exec: true,
      checkpoint: '',
    });
    const launched = await launchProcess(this, {
      processId,
      mode: 'exec',
      state,
      stdio: options.stdio ?? {},
      signal: options.signal,
      drainTimeout: checkDrainTimeout(options.drainTimeout),
    });
    this.#processes.set(processId, launched);
    return launched;
  }

  /** Every process berth knows in this container, init first. */
  processes(): ContainerProcess<Container>[] {
    return [...this.#processes.values()];
  }

  process(processId: string): ContainerProcess<Container> | undefined {
    return this.#processes.get(processId);
  }

  /** running, paused (frozen cgroup) or stopped, without asking the runtime. */
  state(): State {
    const init = this.#processes.get(InitProcessID);
    if (!init || init.state() === State.Stopped) return State.Stopped;
    try {
      return this.#cgroup.frozen(init.systemPid) ? State.Paused : State.Running;
    } catch (err) {
      // Exited between the two checks.
      if (err instanceof CgroupNotFoundError) return State.Stopped;
      throw err;
    }
  }

  /** The runtime's own view (`state` command): created, running, paused or stopped. */
  async status(options: CallOptions = {}): Promise<RuntimeStatus> {
    const output = await runRuntime(this, stateCommand(this.id), options);
    const { status } = JSON.parse(output) as { status: RuntimeStatus };
    return status;
  }

  async pause(options: CallOptions = {}): Promise<void> {
    this.#requireStartedInit();
    await runRuntime(this, pauseCommand(this.id), options);
  }

  async resume(options: CallOptions = {}): Promise<void> {
    this.#requireStartedInit();
    await runRuntime(this, resumeCommand(this.id), options);
  }

  /** Host PIDs of every process in the container's cgroup. */
  async pids(): Promise<number[]> {
    return this.#fromCgroup((pid) => this.#cgroup.pids(pid));
  }

  /** CPU, memory, pids, blkio and hugetlb figures, read straight from the cgroup files. */
  async stats(): Promise<Stat> {
    return this.#fromCgroup((pid) => this.#cgroup.stats(pid));
  }

  /** Changes the running container's limits; fields left undefined keep their values. */
  async updateResources(resources: Resource, options: CallOptions = {}): Promise<void> {
    const request = updateRequest(resources);
    this.#requireStartedInit();
    await runRuntime(this, updateCommand(this.id), {
      ...options,
      input: JSON.stringify(request),
    });
  }

  /** Notifications of the kernel's OOM kills in the container's memory cgroup. */
  async oom(): Promise<OomWatcher> {
    const init = this.#requireRunningInit();
    const paths: CgroupPaths = this.#fromCgroup((pid) => this.#cgroup.paths(pid));
    return new OomWatcher(this.id, init, memoryCgroup(paths));
  }

  /**
   * Checkpoints the container with CRIU through the runtime, into
   * `<checkpointDir>/<name>` (default `<bundle>/checkpoints`). It keeps running
   * unless `checkpoint.exit`.
   */
  async checkpoint(
    checkpoint: Checkpoint,
    checkpointDir = this.#defaultCheckpointDir(),
    options: CallOptions = {},
  ): Promise<void> {
    this.#requireStartedInit();
    const prepared = prepareCheckpoint(checkpoint, checkpointDir, this.id);
    try {
      await runRuntime(this, prepared.args, { ...options, timeoutMs: CHECKPOINT_TIMEOUT_MS });
    } catch (err) {
      prepared.discard();
      throw err;
    }
  }

  async checkpoints(checkpointDir = this.#defaultCheckpointDir()): Promise<Checkpoint[]> {
    return listCheckpoints(checkpointDir);
  }

  async deleteCheckpoint(
    name: string,
    checkpointDir = this.#defaultCheckpointDir(),
  ): Promise<void> {
    deleteCheckpoint(name, checkpointDir);
  }

  /** Forgets an exited process and removes its folder. */
  async removeProcess(processId: string): Promise<void> {
    const found = this.#processes.get(processId);
    if (!found) throw new ProcessNotFoundError(`no process ${processId} in container ${this.id}`);
    if (found.state() !== State.Stopped) throw new ProcessNotExitedError();
    found.close();
    this.#processes.delete(processId);
    await rm(found.dir, { recursive: true, force: true });
  }

  /**
   * Removes the container: runtime state, cgroups, state folder. A running
   * container is refused unless `force`, which kills it first and drops the
   * output nobody read (the shims would wait for a reader).
   */
  async delete(options: { force?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    const init = this.#processes.get(InitProcessID);
    if (options.force) {
      for (const each of this.#processes.values()) {
        try {
          each.discardOutput();
        } catch {
          // Its shim cannot be told (a full control FIFO): the bounded waits below still hold.
        }
      }
    }
    if (init && init.state() === State.Running) {
      if (!options.force)
        throw new ContainerRunningError(`container ${this.id} is running; stop it or use force`);
      // A frozen process cannot die of SIGKILL until thawed.
      if (this.state() === State.Paused)
        await runRuntime(this, resumeCommand(this.id), { signal }).catch(() => {});
      await init.signal('SIGKILL').catch(() => {});
      await this.#bounded(init.wait({ ...(signal ? { signal } : {}) }), STOP_WAIT_MS);
    }
    // The shims finish on their own (the init shim runs the runtime's delete).
    await this.#bounded(Promise.all(this.processes().map((p) => p.shimExited())), STOP_WAIT_MS);
    let failure: Error | undefined;
    // The usual end: the init's shim ran the runtime's delete and it succeeded.
    // Asking the runtime again, or looking up a dozen cgroups that it removed,
    // costs hundreds of containers stopping at once a runtime process each and
    // event-loop time waiting on the kernel's cgroup locks.
    if (init?.runtimeDeleted !== true) {
      // Usually the runtime has no state left; a runtime process less per container.
      if (runtimeStateExists(this.runtime, this.runtimeArgs, this.id) !== false) {
        try {
          await runRuntime(this, deleteCommand(this.id, { force: true }), { signal });
        } catch (err) {
          if (!(err instanceof RuntimeError) || !isNotExistMessage(err.message))
            failure = err as Error;
        }
      }
      // Whatever the runtime could not remove because it never recorded it (a start cut short).
      await removeEmptyCgroups(this.#runtimeCgroupDirs());
    }
    for (const each of this.#processes.values()) each.close();
    this.#processes.clear();
    this.#cgroup.release();
    if (this.#record.rootfs) {
      try {
        await releaseRootfs(this.#record.rootfs, this.path);
      } catch (err) {
        // The record stays, so that a second delete can still find the mount.
        throw failure ?? err;
      }
    }
    // Off the event loop: on a busy disk, removing a folder tree takes a while.
    await rm(this.dir, { recursive: true, force: true });
    if (failure) throw failure;
  }

  /** Releases the watchers of every process; the container keeps running. */
  close(): void {
    for (const each of this.#processes.values()) each.close();
    this.#cgroup.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  async #bounded(promise: Promise<unknown>, ms: number): Promise<void> {
    await Promise.race([promise.catch(() => {}), sleep(ms, undefined, { ref: false })]);
  }

  #defaultCheckpointDir(): string {
    return join(this.path, 'checkpoints');
  }

  #bundleConfig(): BundleConfig {
    return this.#config ?? this.#keepConfig(readBundleConfig(this.path));
  }

  #keepConfig(config: BundleConfig): BundleConfig {
    this.#plainDelete = isPlainRuntimeDelete(config);
    this.#config = retained(config);
    return this.#config;
  }

  #runtimeCgroupDirs(): string[] {
    let cgroupsPath: string | undefined;
    try {
      cgroupsPath = this.#bundleConfig().linux?.cgroupsPath;
    } catch (err) {
      // The bundle went away: the runtime derived the path from the id.
      if (!(err instanceof BerthError)) throw err;
    }
    return runtimeCgroupDirs(cgroupsPath, this.id, {
      systemd: hasSystemdCgroupArg(this.runtimeArgs),
    });
  }

  /** Runs a cgroup reader for the running container; a cgroup gone means the container exited. */
  #fromCgroup<T>(reader: (initPid: number) => T): T {
    const init = this.#requireRunningInit();
    try {
      return reader(init.systemPid);
    } catch (err) {
      if (err instanceof CgroupNotFoundError) {
        this.#cgroup.release();
        throw new ContainerExitedError(undefined, { cause: err });
      }
      throw err;
    }
  }

  #requireRunningInit(): ContainerProcess<Container> {
    const init = this.#processes.get(InitProcessID);
    if (!init || init.state() !== State.Running) throw new ContainerExitedError();
    return init;
  }

  /** Exec, pause, resume, update and checkpoint act on a container whose init runs, not one merely created. */
  #requireStartedInit(): ContainerProcess<Container> {
    const init = this.#requireRunningInit();
    if (init.started === false) throw new ContainerNotStartedError();
    return init;
  }
}

/**
 * What a container keeps of its bundle's config: the process (for its init
 * and what execs inherit) and the cgroups path; a supervisor holds many.
 */
function retained(config: BundleConfig): BundleConfig {
  const cgroupsPath = config.linux?.cgroupsPath;
  return {
    process: config.process,
    ...(cgroupsPath !== undefined ? { linux: { cgroupsPath } } : {}),
  };
}
