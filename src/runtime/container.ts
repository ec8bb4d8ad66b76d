/**
 * A container: its record on disk, its processes, and the runtime calls that
 * act on it as a whole. The seed's Container interface and its New / Load.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { readBundleConfig, checkProcessSpec, type BundleConfig } from './bundle.js';
import { readFrozen, readPids } from './container-cgroup.js';
import { cgroupPathsForPid, type CgroupPaths } from './cgroups/paths.js';
import { CgroupNotFoundError, readStats } from './cgroups/stats.js';
import { OpenCgroupFiles } from './cgroups/open-files.js';
import type { Stat } from './stats-types.js';
import {
  deleteCheckpoint,
  listCheckpoints,
  prepareCheckpoint,
  readCheckpoint,
  restoreFlags,
  type Checkpoint,
} from './checkpoint.js';
import { OomWatcher } from './oom.js';
import { updateRequest, type Resource } from './resources.js';
import {
  InitProcessID,
  PidFile,
  ProcessFile,
  RuntimeLogFile,
  StartTimeFile,
  State,
  StateFile,
  type RuntimeStatus,
} from './constants.js';
import {
  ContainerExistsError,
  ContainerExitedError,
  ContainerNotFoundError,
  ContainerRunningError,
  InvalidArgumentError,
  InvalidBundleConfigError,
  InvalidIdError,
  ProcessExistsError,
  ProcessNotExitedError,
  ProcessNotFoundError,
  RuntimeError,
  ShimError,
  isErrnoException,
} from './errors.js';
import { readIntIfExists, readJson, readTrimmedIfExists, writeFileAtomic } from './files.js';
import { ContainerProcess, type ProcessSpec, type ProcessState } from './process.js';
import { isProcessLive } from './procfs.js';
import {
  lastRuntimeErrorInFile,
  resolveExecutable,
  runRuntime,
  type RuntimeBinary,
} from './runtime-cli.js';
import { launchShim } from './shim-launcher.js';
import {
  newStdio,
  prepareStdio,
  validateStdio,
  type PreparedStdio,
  type StdioOptions,
} from './stdio.js';
import { validateId } from './validate.js';

/** The seed's ContainerOpts; `timeout` is the start timeout in milliseconds. */
export interface ContainerOpts {
  root: string;
  id: string;
  bundle: string;
  runtime?: string;
  runtimeArgs?: string[];
  shim?: string;
  labels?: string[];
  noPivotRoot?: boolean;
  timeout?: number;
}

/** state.json, as containerd v0.2.8 writes it. */
export interface ContainerRecord {
  bundle: string;
  labels: string[];
  stdin: string;
  stdout: string;
  stderr: string;
  runtime: string;
  runtimeArgs: string[];
  shim: string;
  noPivotRoot: boolean;
}

export interface LoadOptions {
  /** Overrides the shim recorded in state.json (the seed's shimName). */
  shim?: string;
  timeout?: number;
}

export interface StartOptions {
  stdio?: StdioOptions;
  /** Restore from this checkpoint (a name under `checkpointDir`) instead of creating afresh. */
  checkpoint?: string;
  checkpointDir?: string;
  signal?: AbortSignal;
}

export type RunOptions = Omit<StartOptions, 'checkpoint' | 'checkpointDir'>;

export interface ExecOptions {
  stdio?: StdioOptions;
  signal?: AbortSignal;
}

export const DEFAULT_RUNTIME = 'runc';
export const DEFAULT_START_TIMEOUT_MS = 15_000;
const SHIM_EXIT_WAIT_MS = 10_000;

/** The shim built by this package (`npm run build`), unless BERTH_SHIM names another. */
export function defaultShimPath(): string {
  return (
    process.env.BERTH_SHIM ??
    fileURLToPath(new URL('../../../shim/build/berth-shim', import.meta.url))
  );
}

export class Container implements RuntimeBinary, AsyncDisposable {
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
  readonly #processes = new Map<string, ContainerProcess>();
  #config: BundleConfig | undefined;
  readonly #stateRecord: ContainerRecord;
  /** Found once per init process: the cgroup of a container does not move. */
  #cgroups: { pid: number; paths: CgroupPaths; files: OpenCgroupFiles } | undefined;

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
    this.#config = config;
    this.#stateRecord = { ...record };
  }

  /** The container's state folder. */
  get dir(): string {
    return join(this.root, this.id);
  }

  /** The seed's New: checks everything, then records the container. Nothing runs yet. */
  static async create(opts: ContainerOpts): Promise<Container> {
    const id = validateId('container id', opts.id);
    if (typeof opts.root !== 'string' || opts.root === '')
      throw new InvalidArgumentError('root is required');
    if (typeof opts.bundle !== 'string' || opts.bundle === '')
      throw new InvalidArgumentError('bundle is required');
    const labels = checkStrings('labels', opts.labels ?? []);
    const runtimeArgs = checkStrings('runtimeArgs', opts.runtimeArgs ?? []);
    const timeout = checkTimeout(opts.timeout);
    const root = resolve(opts.root);
    const bundle = resolve(opts.bundle);
    const config = readBundleConfig(bundle);
    const runtime = opts.runtime || DEFAULT_RUNTIME;
    resolveExecutable(runtime, 'OCI runtime');
    const shim = resolveExecutable(opts.shim || defaultShimPath(), 'shim');

    mkdirSync(root, { recursive: true, mode: 0o711 });
    const dir = join(root, id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if (isErrnoException(err, 'EEXIST'))
        throw new ContainerExistsError(`container ${id} already exists`);
      throw err;
    }
    const record: ContainerRecord = {
      bundle,
      labels,
      ...newStdio(),
      runtime,
      runtimeArgs,
      shim,
      noPivotRoot: opts.noPivotRoot ?? false,
    };
    try {
      writeFileAtomic(join(dir, StateFile), JSON.stringify(record));
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new Container(root, id, record, timeout, config);
  }

  /** The seed's Load: picks a container and its processes back up from disk. */
  static async load(root: string, id: string, options: LoadOptions = {}): Promise<Container> {
    validateId('container id', id);
    const dir = join(resolve(root), id);
    let record: ContainerRecord;
    try {
      record = readJson<ContainerRecord>(join(dir, StateFile));
    } catch (err) {
      if (isErrnoException(err, 'ENOENT'))
        throw new ContainerNotFoundError(`container ${id} not found in ${root}`);
      throw err;
    }
    if (options.shim) record.shim = options.shim;
    const container = new Container(resolve(root), id, record, checkTimeout(options.timeout));
    await container.#loadProcesses();
    return container;
  }

  /** Every container recorded under `root`. */
  static async loadAll(root: string, options: LoadOptions = {}): Promise<Container[]> {
    let entries: string[];
    try {
      entries = readdirSync(root);
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return [];
      throw err;
    }
    const containers: Container[] = [];
    for (const id of entries.sort()) {
      try {
        containers.push(await Container.load(root, validateId('container id', id), options));
      } catch (err) {
        // A folder that is not a container (no state.json, foreign name) is not ours to load.
        if (err instanceof ContainerNotFoundError || err instanceof InvalidIdError) continue;
        throw err;
      }
    }
    return containers;
  }

  /** Creates the init process (runtime `create`, or `restore` from a checkpoint); `start()` on it runs it. */
  async start(options: StartOptions = {}): Promise<ContainerProcess> {
    return this.#startInit(options, false);
  }

  /**
   * Creates and starts the init process in one runtime call (`run -d`): one
   * runtime process fewer than `start()` then `process.start()`, for callers
   * with nothing to do between the two.
   */
  async run(options: RunOptions = {}): Promise<ContainerProcess> {
    return this.#startInit(options, true);
  }

  async #startInit(options: StartOptions, immediately: boolean): Promise<ContainerProcess> {
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
    const state = this.#processState(config.process, false, checkpointPath);
    const init = await this.#launch(InitProcessID, state, {
      stdio: options.stdio ?? {},
      signal: options.signal,
      restoreArgs,
      immediately,
    });
    const { containerdStdin: stdin, containerdStdout: stdout, containerdStderr: stderr } = state;
    const record = this.#stateRecord;
    if (record.stdin !== stdin || record.stdout !== stdout || record.stderr !== stderr) {
      Object.assign(record, { stdin, stdout, stderr });
      writeFileAtomic(join(this.dir, StateFile), JSON.stringify(record));
    }
    return init;
  }

  /** Starts another process in the running container (runtime `exec -d`). */
  async exec(
    processId: string,
    spec: ProcessSpec,
    options: ExecOptions = {},
  ): Promise<ContainerProcess> {
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
    this.#requireRunningInit();
    // What the exec leaves out comes from the container's own process, as a shell in it would have.
    const { terminal: _terminal, consoleSize: _size, ...inherited } = this.#bundleConfig().process;
    const state = this.#processState({ ...inherited, terminal: false, ...spec }, true, '');
    return this.#launch(processId, state, { stdio: options.stdio ?? {}, signal: options.signal });
  }

  /** Every process berth knows in this container, init first. */
  processes(): ContainerProcess[] {
    return [...this.#processes.values()];
  }

  process(processId: string): ContainerProcess | undefined {
    return this.#processes.get(processId);
  }

  /** running, paused (frozen cgroup) or stopped, without asking the runtime. */
  state(): State {
    const init = this.#processes.get(InitProcessID);
    if (!init || init.state() === State.Stopped) return State.Stopped;
    try {
      return readFrozen(this.#cgroupPaths(init).paths) ? State.Paused : State.Running;
    } catch (err) {
      // Exited between the two checks.
      if (err instanceof CgroupNotFoundError) return State.Stopped;
      throw err;
    }
  }

  /** The runtime's own view (`state` command): created, running, paused or stopped. */
  async status(options: { signal?: AbortSignal } = {}): Promise<RuntimeStatus> {
    const output = await runRuntime(this, ['state', this.id], options);
    const { status } = JSON.parse(output) as { status: RuntimeStatus };
    return status;
  }

  async pause(): Promise<void> {
    this.#requireRunningInit();
    await runRuntime(this, ['pause', this.id]);
  }

  async resume(): Promise<void> {
    this.#requireRunningInit();
    await runRuntime(this, ['resume', this.id]);
  }

  /** Host PIDs of every process in the container's cgroup. */
  async pids(): Promise<number[]> {
    return this.#fromCgroup(readPids);
  }

  /** CPU, memory, pids, blkio and hugetlb figures, read straight from the cgroup files. */
  async stats(): Promise<Stat> {
    return this.#fromCgroup((paths, files) => readStats(paths, { reader: files.read }));
  }

  /** Changes the running container's limits; fields left undefined keep their values. */
  async updateResources(resources: Resource): Promise<void> {
    const request = updateRequest(resources);
    this.#requireRunningInit();
    await runRuntime(this, ['update', '--resources', '-', this.id], {
      input: JSON.stringify(request),
    });
  }

  /** Notifications of the kernel's OOM kills in the container's memory cgroup. */
  async oom(): Promise<OomWatcher> {
    const init = this.#requireRunningInit();
    const paths = this.#fromCgroup((found) => found);
    const memory = paths.version === 2 ? paths.unified : paths.v1.get('memory');
    return new OomWatcher(this.id, init, memory);
  }

  /**
   * Checkpoints the container with CRIU through the runtime, into
   * `<checkpointDir>/<name>` (default `<bundle>/checkpoints`). It keeps running
   * unless `checkpoint.exit`.
   */
  async checkpoint(
    checkpoint: Checkpoint,
    checkpointDir = this.#defaultCheckpointDir(),
  ): Promise<void> {
    this.#requireRunningInit();
    const prepared = prepareCheckpoint(checkpoint, checkpointDir, this.id);
    try {
      await runRuntime(this, prepared.args);
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
    rmSync(found.dir, { recursive: true, force: true });
  }

  /**
   * Removes the container: runtime state, cgroups, state folder. A running
   * container is refused unless `force`, which kills it first.
   */
  async delete(options: { force?: boolean } = {}): Promise<void> {
    const init = this.#processes.get(InitProcessID);
    if (init && init.state() === State.Running) {
      if (!options.force)
        throw new ContainerRunningError(`container ${this.id} is running; stop it or use force`);
      if (this.state() === State.Paused)
        await runRuntime(this, ['resume', this.id]).catch(() => {});
      await init.signal('SIGKILL').catch(() => {});
      await init.wait();
    }
    // The shims finish on their own (the init shim runs the runtime's delete); give them a bounded time.
    await Promise.race([
      Promise.all(this.processes().map((p) => p.shimExited())),
      sleep(SHIM_EXIT_WAIT_MS, undefined, { ref: false }),
    ]);
    let failure: Error | undefined;
    try {
      await runRuntime(this, ['delete', '--force', this.id]);
    } catch (err) {
      if (
        !(err instanceof RuntimeError) ||
        !/does not exist|not exist|not found/i.test(err.message)
      ) {
        failure = err as Error;
      }
    }
    for (const each of this.#processes.values()) each.close();
    this.#processes.clear();
    this.#releaseCgroupFiles();
    rmSync(this.dir, { recursive: true, force: true });
    if (failure) throw failure;
  }

  /** Releases the watchers of every process; the container keeps running. */
  close(): void {
    for (const each of this.#processes.values()) each.close();
    this.#releaseCgroupFiles();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #defaultCheckpointDir(): string {
    return join(this.path, 'checkpoints');
  }

  #bundleConfig(): BundleConfig {
    this.#config ??= readBundleConfig(this.path);
    return this.#config;
  }

  /** The init's cgroups, found once, with the files kept open for repeated reads. */
  #cgroupPaths(init: ContainerProcess): { paths: CgroupPaths; files: OpenCgroupFiles } {
    if (this.#cgroups?.pid !== init.systemPid) {
      this.#releaseCgroupFiles();
      const paths = cgroupPathsForPid(init.systemPid);
      this.#cgroups = { pid: init.systemPid, paths, files: new OpenCgroupFiles() };
    }
    return this.#cgroups;
  }

  #releaseCgroupFiles(): void {
    this.#cgroups?.files.close();
    this.#cgroups = undefined;
  }

  /** Runs a cgroup reader for the running container; a cgroup gone means the container exited. */
  #fromCgroup<T>(reader: (paths: CgroupPaths, files: OpenCgroupFiles) => T): T {
    const init = this.#requireRunningInit();
    try {
      const { paths, files } = this.#cgroupPaths(init);
      return reader(paths, files);
    } catch (err) {
      if (err instanceof CgroupNotFoundError) {
        this.#releaseCgroupFiles();
        throw new ContainerExitedError(undefined, { cause: err });
      }
      throw err;
    }
  }

  #requireRunningInit(): ContainerProcess {
    const init = this.#processes.get(InitProcessID);
    if (!init || init.state() !== State.Running) throw new ContainerExitedError();
    return init;
  }

  #processState(spec: ProcessSpec, exec: boolean, checkpoint: string): ProcessState {
    return {
      ...spec,
      exec,
      containerdStdin: '',
      containerdStdout: '',
      containerdStderr: '',
      runtimeArgs: [...this.runtimeArgs],
      noPivotRoot: this.noPivotRoot,
      checkpoint,
      rootUID: 0,
      rootGID: 0,
    };
  }

  async #launch(
    processId: string,
    state: ProcessState,
    how: {
      stdio: StdioOptions;
      signal?: AbortSignal | undefined;
      restoreArgs?: string[];
      immediately?: boolean;
    },
  ): Promise<ContainerProcess> {
    const dir = join(this.dir, processId);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if (isErrnoException(err, 'EEXIST')) {
        throw new ProcessExistsError(`process ${processId} already exists in container ${this.id}`);
      }
      if (isErrnoException(err, 'ENOENT'))
        throw new ContainerNotFoundError(`container ${this.id} was deleted`);
      throw err;
    }
    let stdio: PreparedStdio | undefined;
    try {
      stdio = await prepareStdio(dir, how.stdio);
      state.containerdStdin = stdio.paths.stdin;
      state.containerdStdout = stdio.paths.stdout;
      state.containerdStderr = stdio.paths.stderr;
      writeFileAtomic(join(dir, ProcessFile), JSON.stringify(state));
      const report = await launchShim({
        shim: this.shim,
        cwd: dir,
        args: this.#shimArgs(state, how.restoreArgs ?? [], how.immediately ?? false),
        timeoutMs: this.timeout,
        ...(how.signal ? { signal: how.signal } : {}),
      });
      if (!report.ok) {
        const mode = shimMode(state, how.immediately ?? false);
        const runtimeMessage = lastRuntimeErrorInFile(join(dir, RuntimeLogFile));
        if (runtimeMessage !== undefined) {
          throw new RuntimeError(
            `${this.runtime} ${mode}: ${runtimeMessage}`,
            [this.runtime, mode],
            null,
          );
        }
        throw new ShimError(`shim could not ${mode} process ${processId}: ${report.message}`);
      }
      const launched = new ContainerProcess({
        owner: this,
        id: processId,
        dir,
        state,
        pid: report.pid,
        startTime: readTrimmedIfExists(join(dir, StartTimeFile)),
        started: shimMode(state, how.immediately ?? false) !== 'create',
        streams: stdio,
      });
      await launched.watch();
      this.#processes.set(processId, launched);
      return launched;
    } catch (err) {
      stdio?.destroy();
      await this.#undoLaunch(dir, processId);
      throw err;
    }
  }

  /** After a failed start: no process, runtime state, cgroup or folder may stay behind. */
  async #undoLaunch(dir: string, processId: string): Promise<void> {
    const pid = readIntIfExists(join(dir, PidFile));
    if (pid !== undefined && pid > 0 && isProcessLive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    if (processId === InitProcessID) {
      await runRuntime(this, ['delete', '--force', this.id]).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  }

  #shimArgs(state: ProcessState, restoreArgs: string[], immediately: boolean): string[] {
    // The shim gives up on a FIFO nobody opens before the start timeout fires, with a clearer error.
    const stdioTimeout = Math.max(100, Math.floor(this.timeout * 0.8));
    const args = ['--mode', shimMode(state, immediately), '--stdio-timeout', String(stdioTimeout)];
    args.push(
      '--stdin',
      state.containerdStdin,
      '--stdout',
      state.containerdStdout,
      '--stderr',
      state.containerdStderr,
    );
    if (state.terminal) args.push('--terminal');
    if (!state.exec) {
      args.push('--oom');
      if (state.noPivotRoot) args.push('--no-pivot');
    }
    for (const arg of state.runtimeArgs) args.push('--runtime-arg', arg);
    if (state.checkpoint) args.push('--checkpoint', state.checkpoint);
    for (const arg of restoreArgs) args.push('--restore-arg', arg);
    args.push(this.id, this.path, this.runtime);
    return args;
  }

  async #loadProcesses(): Promise<void> {
    const entries = readdirSync(this.dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      // init first, so the container's own state is settled before its execs'.
      .sort((a, b) => (a === InitProcessID ? -1 : b === InitProcessID ? 1 : a.localeCompare(b)));
    for (const processId of entries) {
      const dir = join(this.dir, processId);
      let state: ProcessState;
      try {
        state = readJson<ProcessState>(join(dir, ProcessFile));
      } catch (err) {
        if (isErrnoException(err, 'ENOENT')) continue;
        throw new InvalidBundleConfigError(`${join(dir, ProcessFile)}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const loaded = new ContainerProcess({
        owner: this,
        id: processId,
        dir,
        state,
        pid: readIntIfExists(join(dir, PidFile)) ?? 0,
        startTime: readTrimmedIfExists(join(dir, StartTimeFile)),
      });
      await loaded.watch();
      this.#processes.set(processId, loaded);
    }
  }
}

/** What the shim asks of the runtime. */
function shimMode(
  state: ProcessState,
  immediately: boolean,
): 'exec' | 'restore' | 'run' | 'create' {
  if (state.exec) return 'exec';
  if (state.checkpoint) return 'restore';
  return immediately ? 'run' : 'create';
}

function checkStrings(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new InvalidArgumentError(`${name} must be an array of strings`);
  }
  return [...value];
}

function checkTimeout(timeout: number | undefined): number {
  if (timeout === undefined || timeout === 0) return DEFAULT_START_TIMEOUT_MS;
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new InvalidArgumentError(
      `timeout must be a positive number of milliseconds, got ${timeout}`,
    );
  }
  return timeout;
}
