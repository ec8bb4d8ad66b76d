/**
 * The supervisor: owns every container of one state dir, watches their
 * processes, applies containerd v0.2.8's rules (an exec exit is reported and
 * forgotten; an init exit kills the rest, deletes the container, reports every
 * exit), journals events and fans them out, and picks everything back up
 * after a restart (`recovery.ts`, with the exits of `pending-exits.ts`). No
 * gRPC here: src/api/ translates.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Container,
  ContainerExistsError,
  ContainerNotFoundError,
  ExitStatusFile,
  InitProcessID,
  InvalidArgumentError,
  KilledStatus,
  ProcessNotFoundError,
  State,
  validateId,
  writeFileAtomic,
  type Checkpoint,
  type ContainerProcess,
  type ProcessSpec,
  type Stat,
} from '../runtime/index.js';
import { DEFAULT_SUBSCRIBER_BUFFER, EventHub } from './events.js';
import { DEFAULT_RETAIN_COUNT, Journal } from './journal.js';
import { capabilitiesFromFlat } from './legacy.js';
import { flatCapabilities } from './legacy-process.js';
import { prepareBundle, removeShadowBundle, shadowBundleDir } from './shadow-bundle.js';
import { lockStateDir, type StateDirLock } from './lock.js';
import { checkSignal } from './signal.js';
import { removePendingExits, writePendingExits, type ExitRecord } from './pending-exits.js';
import { recover, type RecoveryHost } from './recovery.js';
import {
  EventType,
  type AddProcessRequest,
  type ContainerInfo,
  type CreateContainerRequest,
  type EventSubscription,
  type ProcessInfo,
  type StateResponse,
  type SubscribeOptions,
  type SupervisorApi,
  type SupervisorEvent,
  type SupervisorLogger,
  type UpdateContainerRequest,
  type UpdateProcessRequest,
} from './types.js';

export type { SupervisorLogger } from './types.js';

export interface SupervisorOptions {
  stateDir: string;
  runtime?: string;
  runtimeArgs?: string[];
  shim?: string;
  /** Start timeout, ms (default 15 000). */
  startTimeoutMs?: number;
  /** Events kept in the journal (default 500). */
  retainCount?: number;
  /** Events a live subscriber may have pending before it is cut off (default 1024). */
  subscriberBuffer?: number;
  logger?: SupervisorLogger;
}

/** After init exits, how long the remaining processes get to die of SIGKILL. */
const KILL_WAIT_MS = 10_000;
/** The client's bundle path when berth runs a converted copy (state.json then names the copy). */
const BundlePathFile = 'bundle-path';

const silent: SupervisorLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface Entry {
  container: Container;
  bundlePath: string;
  /** Set once init has exited: the container is being finished. */
  finishing: boolean;
  closeOom?: () => void;
}

export class Supervisor implements SupervisorApi {
  readonly stateDir: string;
  readonly #options: SupervisorOptions;
  readonly #log: SupervisorLogger;
  readonly #journal: Journal;
  readonly #hub: EventHub;
  readonly #lock: StateDirLock;
  readonly #containers = new Map<string, Entry>();
  readonly #creating = new Set<string>();
  readonly #finishing = new Set<Promise<void>>();
  #lastTimestamp: bigint;
  #closed = false;

  private constructor(options: SupervisorOptions, journal: Journal, lock: StateDirLock) {
    this.stateDir = options.stateDir;
    this.#options = options;
    this.#log = options.logger ?? silent;
    this.#journal = journal;
    this.#lock = lock;
    this.#lastTimestamp = journal.lastTimestamp;
    this.#hub = new EventHub(
      journal,
      () => this.#event(EventType.Live, '', '', 0),
      options.subscriberBuffer ?? DEFAULT_SUBSCRIBER_BUFFER,
    );
  }

  /**
   * Locks the state dir (StateDirLockedError if another supervisor has it),
   * loads every container, reports exits that happened while nobody watched,
   * and watches the rest. State is complete when this resolves.
   */
  static async open(options: SupervisorOptions): Promise<Supervisor> {
    if (typeof options.stateDir !== 'string' || !isAbsolute(options.stateDir))
      throw new InvalidArgumentError('stateDir must be an absolute path');
    const retain = options.retainCount ?? DEFAULT_RETAIN_COUNT;
    if (!Number.isInteger(retain) || retain < 1)
      throw new InvalidArgumentError(`retainCount must be a positive integer, got ${retain}`);
    mkdirSync(options.stateDir, { recursive: true, mode: 0o711 });
    const lock = await lockStateDir(options.stateDir);
    let journal: Journal | undefined;
    try {
      journal = Journal.open(options.stateDir, options.retainCount ?? DEFAULT_RETAIN_COUNT);
      const supervisor = new Supervisor(options, journal, lock);
      await recover(supervisor.#recoveryHost());
      return supervisor;
    } catch (err) {
      journal?.close();
      await lock.release();
      throw err;
    }
  }

  // ---- requests ----

  async createContainer(req: CreateContainerRequest): Promise<ContainerInfo> {
    this.#open();
    const id = validateId('container id', req.id);
    checkPath('bundlePath', req.bundlePath, false);
    for (const name of ['stdin', 'stdout', 'stderr'] as const) checkPath(name, req[name], true);
    if (req.checkpointDir) checkPath('checkpointDir', req.checkpointDir, false);
    if (this.#containers.has(id) || this.#creating.has(id))
      throw new ContainerExistsError(`container ${id} already exists`);
    this.#creating.add(id);
    const shadow = shadowBundleDir(this.stateDir, id);
    let created = false;
    try {
      // An rc-era config (flat capabilities, seccomp `name`, uint64 swappiness) runs from a converted copy.
      const bundle = prepareBundle(req.bundlePath, shadow);
      if (bundle.changes.length)
        this.#log.info({ id, changes: bundle.changes }, 'running a converted copy of the bundle');
      const container = await Container.create({
        root: this.stateDir,
        id,
        bundle: bundle.path,
        runtime: req.runtime || this.#options.runtime,
        runtimeArgs: req.runtimeArgs?.length ? req.runtimeArgs : this.#options.runtimeArgs,
        shim: this.#options.shim,
        labels: req.labels ?? [],
        noPivotRoot: req.noPivotRoot ?? false,
        timeout: this.#options.startTimeoutMs,
      });
      if (bundle.path !== req.bundlePath)
        writeFileAtomic(join(container.dir, BundlePathFile), req.bundlePath);
      const stdio = { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '' };
      try {
        if (req.checkpoint) {
          await container.start({
            stdio,
            checkpoint: req.checkpoint,
            ...(req.checkpointDir ? { checkpointDir: req.checkpointDir } : {}),
          });
        } else {
          await container.run({ stdio });
        }
      } catch (err) {
        await container.delete({ force: true }).catch((cleanup: Error) => {
          this.#log.warn({ id, err: cleanup.message }, 'cleanup after a failed create');
        });
        throw err;
      }
      const entry: Entry = { container, bundlePath: req.bundlePath, finishing: false };
      this.#containers.set(id, entry);
      created = true;
      this.#emit(EventType.StartContainer, id, InitProcessID, 0);
      this.#log.info({ id, bundle: req.bundlePath }, 'container started');
      this.#watch(entry);
      return await this.#info(entry);
    } finally {
      if (!created) removeShadowBundle(shadow);
      this.#creating.delete(id);
    }
  }

  async addProcess(req: AddProcessRequest): Promise<{ systemPid: number }> {
    const entry = this.#entry(req.id);
    const pid = validateId('process id', req.pid);
    if (!Array.isArray(req.args) || req.args.length === 0)
      throw new InvalidArgumentError('args must name the program to run');
    for (const name of ['stdin', 'stdout', 'stderr'] as const) checkPath(name, req[name], true);
    const process = await entry.container.exec(pid, execSpec(req), {
      stdio: { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '' },
    });
    this.#emit(EventType.StartProcess, req.id, pid, 0);
    this.#watchExec(entry, process);
    return { systemPid: process.systemPid };
  }

  async signal(id: string, pid: string, signal: number): Promise<void> {
    checkSignal(signal);
    await this.#process(id, pid).signal(signal);
  }

  async updateProcess(req: UpdateProcessRequest): Promise<void> {
    const process = this.#process(req.id, req.pid);
    if (req.closeStdin) await process.closeStdin();
    if (req.width || req.height) await process.resize(req.width ?? 0, req.height ?? 0);
  }

  async updateContainer(req: UpdateContainerRequest): Promise<void> {
    const entry = this.#entry(req.id);
    if (req.status === State.Paused) {
      await entry.container.pause();
      this.#emit(EventType.Pause, req.id, '', 0);
    } else if (req.status === State.Running) {
      await entry.container.resume();
      this.#emit(EventType.Resume, req.id, '', 0);
    } else if (req.status) {
      throw new InvalidArgumentError(`status must be "paused" or "running", got "${req.status}"`);
    }
    if (req.resources) await entry.container.updateResources(req.resources);
  }

  async createCheckpoint(
    id: string,
    checkpoint: Checkpoint,
    checkpointDir?: string,
  ): Promise<void> {
    const { container } = this.#entry(id);
    await (checkpointDir
      ? container.checkpoint(checkpoint, checkpointDir)
      : container.checkpoint(checkpoint));
  }

  async deleteCheckpoint(id: string, name: string, checkpointDir?: string): Promise<void> {
    const { container } = this.#entry(id);
    await (checkpointDir
      ? container.deleteCheckpoint(name, checkpointDir)
      : container.deleteCheckpoint(name));
  }

  async listCheckpoints(id: string, checkpointDir?: string): Promise<Checkpoint[]> {
    const { container } = this.#entry(id);
    return checkpointDir ? container.checkpoints(checkpointDir) : container.checkpoints();
  }

  async state(id?: string): Promise<StateResponse> {
    const entries = id ? [this.#entry(id)] : [...this.#containers.values()];
    const containers = await Promise.all(entries.map((entry) => this.#info(entry)));
    // CPUs as Go's runtime.NumCPU counts them (the affinity mask), without reading /proc/cpuinfo.
    return { containers, machine: { cpus: availableParallelism(), memory: BigInt(totalmem()) } };
  }

  async stats(id: string): Promise<Stat> {
    return this.#entry(id).container.stats();
  }

  subscribe(options: SubscribeOptions = {}): EventSubscription {
    return this.#hub.subscribe(options);
  }

  /** Every exit handling under way has finished (tests, orderly shutdown). */
  async settled(): Promise<void> {
    while (this.#finishing.size) await Promise.all([...this.#finishing]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.closeAll();
    for (const entry of this.#containers.values()) {
      entry.closeOom?.();
      entry.container.close();
    }
    this.#containers.clear();
    this.#journal.close();
    await this.#lock.release();
  }

  // ---- watching ----

  #watch(entry: Entry): void {
    const init = entry.container.process(InitProcessID);
    for (const process of entry.container.processes())
      if (process !== init) this.#watchExec(entry, process);
    if (!init) return;
    init.wait().then(
      (status) => this.#track(this.#onInitExit(entry, init, status)),
      () => {}, // handle closed: the supervisor is closing
    );
    if (init.state() === State.Running) this.#watchOom(entry);
  }

  #watchExec(entry: Entry, process: ContainerProcess): void {
    process.wait().then(
      (status) => this.#track(this.#onExecExit(entry, process, status)),
      () => {},
    );
  }

  async #onExecExit(entry: Entry, process: ContainerProcess, status: number): Promise<void> {
    // Once init has exited, its handler reports every process at once.
    if (this.#closed || entry.finishing) return;
    // An AddProcess cut short before anything ran: nobody was told of it.
    if (process.systemPid !== 0) this.#emitExit(entry.container.id, process, status);
    await entry.container.removeProcess(process.id).catch(() => {});
  }

  #watchOom(entry: Entry): void {
    const { id } = entry.container;
    const watching = entry.container.oom().then(async (watcher) => {
      entry.closeOom = () => watcher.close();
      for await (const _ of watcher) this.#emit(EventType.Oom, id, InitProcessID, 0);
    });
    watching.catch((err: Error) => this.#log.debug({ id, err: err.message }, 'no OOM watch'));
  }

  /** v0.2.8's rule: the container ends with its init; every process is reported, then it is gone. */
  async #onInitExit(entry: Entry, init: ContainerProcess, status: number): Promise<void> {
    if (this.#closed) return;
    entry.finishing = true;
    const { container } = entry;
    const others = container.processes().filter((p) => p !== init);
    for (const process of others) await process.signal('SIGKILL').catch(() => {});
    const statuses = await Promise.all(
      others.map((p) =>
        Promise.race([p.wait().catch(() => KilledStatus), sleep(KILL_WAIT_MS, KilledStatus)]),
      ),
    );
    const exits: ExitRecord[] = [...others, init]
      .map((p, i) => ({
        pid: p.id,
        status: i < others.length ? statuses[i]! : status,
        systemPid: p.systemPid,
        at: exitTime(p).toString(),
      }))
      .filter((exit) => exit.systemPid !== 0 || exit.pid === InitProcessID);
    // Recorded before the delete: a supervisor killed from here on reports them after its restart.
    await writePendingExits(this.stateDir, container.id, exits);
    entry.closeOom?.();
    await container.delete({ force: true }).catch((err: Error) => {
      this.#log.error({ id: container.id, err: err.message }, 'delete after init exit');
    });
    removeShadowBundle(shadowBundleDir(this.stateDir, container.id));
    if (this.#containers.get(container.id) === entry) this.#containers.delete(container.id);
    if (this.#closed) return;
    this.#emitRecordedExits(container.id, exits);
    removePendingExits(this.stateDir, container.id);
    this.#log.info({ id: container.id, status }, 'container exited');
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((err: Error) =>
      this.#log.error({ err: err.message }, 'exit handling failed'),
    );
    this.#finishing.add(tracked);
    void tracked.finally(() => this.#finishing.delete(tracked));
  }

  // ---- recovery ----

  #recoveryHost(): RecoveryHost {
    return {
      stateDir: this.stateDir,
      log: this.#log,
      loadOptions: {
        ...(this.#options.shim ? { shim: this.#options.shim } : {}),
        ...(this.#options.startTimeoutMs ? { timeout: this.#options.startTimeoutMs } : {}),
      },
      journalExits: (id, exits) => this.#emitRecordedExits(id, exits),
      adopt: (container) => this.#adopt(container),
      track: (work) => this.#track(work),
      isClosed: () => this.#closed,
    };
  }

  /** A container found in the state dir: watched as if this supervisor had created it. */
  #adopt(container: Container): void {
    const entry: Entry = { container, bundlePath: readBundlePath(container), finishing: false };
    this.#containers.set(container.id, entry);
    this.#watch(entry);
  }

  // ---- events ----

  #emitRecordedExits(id: string, exits: ExitRecord[]): void {
    for (const exit of exits) {
      if (this.#journal.hasExit(id, exit.pid, exit.systemPid)) continue;
      this.#emit(EventType.Exit, id, exit.pid, exit.status, {
        systemPid: exit.systemPid,
        at: BigInt(exit.at),
      });
    }
  }

  #emitExit(id: string, process: ContainerProcess, status: number): void {
    if (this.#journal.hasExit(id, process.id, process.systemPid)) return;
    this.#emit(EventType.Exit, id, process.id, status, {
      systemPid: process.systemPid,
      at: exitTime(process),
    });
  }

  #event(type: EventType, id: string, pid: string, status: number, at?: bigint): SupervisorEvent {
    const wanted = at ?? BigInt(Date.now()) * 1_000_000n;
    const timestamp = wanted > this.#lastTimestamp ? wanted : this.#lastTimestamp + 1n;
    this.#lastTimestamp = timestamp;
    return { type, id, pid, status, timestamp };
  }

  /** Journaled (durably) and published in one synchronous step. */
  #emit(
    type: EventType,
    id: string,
    pid: string,
    status: number,
    extra: { systemPid?: number; at?: bigint } = {},
  ): void {
    const event = this.#event(type, id, pid, status, extra.at);
    this.#journal.append(
      extra.systemPid === undefined ? event : { ...event, systemPid: extra.systemPid },
    );
    this.#hub.publish(event);
  }

  // ---- lookups ----

  #open(): void {
    if (this.#closed) throw new InvalidArgumentError('the supervisor is closed');
  }

  #entry(id: string): Entry {
    this.#open();
    validateId('container id', id);
    const entry = this.#containers.get(id);
    // v0.2.8's words: Docker's libcontainerd matches "container not found" to treat a kill as done.
    if (!entry || entry.finishing)
      throw new ContainerNotFoundError(`containerd: container not found (${id})`);
    return entry;
  }

  #process(id: string, pid: string): ContainerProcess {
    const entry = this.#entry(id);
    const process = entry.container.process(pid || InitProcessID);
    if (!process)
      throw new ProcessNotFoundError(`containerd: process not found for container (${id}/${pid})`);
    return process;
  }

  async #info(entry: Entry): Promise<ContainerInfo> {
    const { container } = entry;
    let pids: number[] = [];
    try {
      pids = await container.pids();
    } catch {
      // Exited meanwhile.
    }
    return {
      id: container.id,
      bundlePath: entry.bundlePath,
      processes: container.processes().map(processInfo),
      status: container.state(),
      labels: [...container.labels],
      pids,
      runtime: container.runtime,
    };
  }
}

function checkPath(name: string, value: unknown, optional: boolean): void {
  if (optional && (value === undefined || value === '')) return;
  if (typeof value !== 'string' || !isAbsolute(value) || value.includes('\0'))
    throw new InvalidArgumentError(
      `${name} must be an absolute path, got ${JSON.stringify(value)}`,
    );
}

/** When the shim recorded the exit (the status file's mtime); now if it cannot be read. */
function exitTime(process: ContainerProcess): bigint {
  try {
    return statSync(join(process.dir, ExitStatusFile), { bigint: true }).mtimeNs;
  } catch {
    return BigInt(Date.now()) * 1_000_000n;
  }
}

function readBundlePath(container: Container): string {
  try {
    return readFileSync(join(container.dir, BundlePathFile), 'utf8').trim() || container.path;
  } catch {
    return container.path;
  }
}

/** An AddProcess request as an OCI process spec; what it leaves empty comes from the container. */
function execSpec(req: AddProcessRequest): ProcessSpec {
  const spec: ProcessSpec = { args: [...req.args], terminal: req.terminal === true };
  if (req.env?.length) spec.env = [...req.env];
  if (req.cwd) spec.cwd = req.cwd;
  if (req.user) {
    spec.user = { uid: req.user.uid, gid: req.user.gid };
    if (req.user.additionalGids?.length) spec.user.additionalGids = [...req.user.additionalGids];
  }
  if (req.capabilities?.length) spec.capabilities = { ...capabilitiesFromFlat(req.capabilities) };
  if (req.apparmorProfile) spec.apparmorProfile = req.apparmorProfile;
  if (req.selinuxLabel) spec.selinuxLabel = req.selinuxLabel;
  if (req.noNewPrivileges) spec.noNewPrivileges = true;
  if (req.rlimits?.length) {
    spec.rlimits = req.rlimits.map((limit) => ({
      type: limit.type,
      soft: exactInteger(limit.soft),
      hard: exactInteger(limit.hard),
    }));
  }
  return spec;
}

function processInfo(process: ContainerProcess): ProcessInfo {
  const spec = process.spec;
  return {
    pid: process.id,
    terminal: spec.terminal === true,
    user: {
      uid: spec.user?.uid ?? 0,
      gid: spec.user?.gid ?? 0,
      additionalGids: spec.user?.additionalGids ?? [],
    },
    args: spec.args,
    env: spec.env ?? [],
    cwd: spec.cwd ?? '',
    systemPid: process.systemPid,
    ...process.stdio,
    capabilities: flatCapabilities(spec.capabilities),
    apparmorProfile: spec.apparmorProfile ?? '',
    selinuxLabel: spec.selinuxLabel ?? '',
    noNewPrivileges: spec.noNewPrivileges === true,
    rlimits: spec.rlimits ?? [],
  };
}

/** uint64 values stay exact: a number while it is one, a bigint beyond 2^53. */
function exactInteger(value: number | bigint): number | bigint {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  return value;
}
