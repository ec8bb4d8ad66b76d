/**
 * CRI containers: CreateContainer records the container and makes its
 * bundle (the image's overlay, the CRI config on top); StartContainer makes
 * its FIFOs and their holder, starts its output readers and then the
 * supervisor container (create + start); StopContainer signals and waits;
 * RemoveContainer removes what is left. The supervisor deletes a container
 * when its init exits: the exit (code, reason, time) is recorded here from
 * the supervisor's events, and kept until RemoveContainer. Records on disk
 * (container-store.ts) are the truth: a restarted berthd lists every
 * container again, reads the running ones' output from where the holder
 * kept it, and replays the events it missed from the supervisor's journal.
 */
import { linuxResourcesToUpdate } from './container-linux.js';
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  containersDir,
  createImageBundle,
  type BundleImage,
  type BundleStore,
} from '../images/index.js';
import { InitProcessID, mountPoints, writeFileAtomicAsync } from '../runtime/index.js';
import { EventType, type SupervisorApi, type SupervisorEvent } from '../supervisor/types.js';
import {
  ContainerState,
  type Container,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerStatus,
  type LinuxContainerResources,
  type PodSandboxConfig,
} from './generated/api.js';
import type {
  CriContainerLookup,
  CriContainerState,
  CriContainerView,
} from './container-lookup.js';
import {
  AmbiguousContainerIdError,
  ContainerNameTakenError,
  ContainerStateError,
  ContainerStopTimeoutError,
  CriContainerNotFoundError,
  InvalidContainerConfigError,
  PodSandboxNotReadyError,
} from './container-errors.js';
import {
  ContainerOutput,
  ioPaths,
  killHolder,
  makeFifos,
  openStdin,
  spawnHolder,
  type IoPaths,
} from './container-io.js';
import {
  checkContainerConfig,
  criContainerConfig,
  imageOverrides,
  stopSignalOf,
  type ContainerSpecContext,
} from './container-spec.js';
import { ContainerStore, type ContainerRecord, type RecordedResources } from './container-store.js';
import { nowNs } from './logs.js';
import { SANDBOX_LABEL, type PodSandboxes } from './pods.js';
import type { SessionStreams } from './streaming/types.js';
import { KeyedQueue } from './keyed-queue.js';

/** The label marking a supervisor container as a CRI container (not a pause container). */
export const CRI_CONTAINER_LABEL = 'io.berth.cri.kind=container';
const STOP_TIMEOUT_MS = 15_000;
const EXIT_DRAIN_MS = 5_000;
/** How long a restart waits for the exit of a container the supervisor no longer has. */
const LOST_EXIT_GRACE_MS = 2_000;
const POLL_MS = 50;

/** What the containers need of the image store (ImageStore has it). */
export type ContainerImages = BundleStore<BundleImage>;

export interface CriContainersOptions {
  supervisor: SupervisorApi;
  images: ContainerImages;
  pods: PodSandboxes;
  /** The CRI's state: `containers/<id>.json` records and `containers/<id>/` FIFOs. */
  stateDir: string;
  /** How long a stop waits for the container to die of SIGKILL. */
  stopTimeoutMs?: number;
}

export interface ContainerStatusResult {
  status: ContainerStatus;
  info: Record<string, string>;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 'ERR_CONTAINER_NOT_FOUND';
}

const STATE_OF: Record<ContainerRecord['state'], ContainerState> = {
  CREATED: ContainerState.CONTAINER_CREATED,
  RUNNING: ContainerState.CONTAINER_RUNNING,
  EXITED: ContainerState.CONTAINER_EXITED,
};

const VIEW_STATE: Record<ContainerRecord['state'], CriContainerState> = {
  CREATED: 'created',
  RUNNING: 'running',
  EXITED: 'exited',
};

export function recordResources(r: LinuxContainerResources): RecordedResources {
  return {
    cpuPeriod: r.cpuPeriod.toString(),
    cpuQuota: r.cpuQuota.toString(),
    cpuShares: r.cpuShares.toString(),
    memoryLimitInBytes: r.memoryLimitInBytes.toString(),
    oomScoreAdj: r.oomScoreAdj.toString(),
    cpusetCpus: r.cpusetCpus,
    cpusetMems: r.cpusetMems,
    hugepageLimits: r.hugepageLimits.map((h) => ({
      pageSize: h.pageSize,
      limit: h.limit.toString(),
    })),
    unified: { ...r.unified },
    memorySwapLimitInBytes: r.memorySwapLimitInBytes.toString(),
  };
}

export function wireResources(r: RecordedResources): LinuxContainerResources {
  return {
    cpuPeriod: BigInt(r.cpuPeriod),
    cpuQuota: BigInt(r.cpuQuota),
    cpuShares: BigInt(r.cpuShares),
    memoryLimitInBytes: BigInt(r.memoryLimitInBytes),
    oomScoreAdj: BigInt(r.oomScoreAdj),
    cpusetCpus: r.cpusetCpus,
    cpusetMems: r.cpusetMems,
    hugepageLimits: r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: BigInt(h.limit) })),
    unified: { ...r.unified },
    memorySwapLimitInBytes: BigInt(r.memorySwapLimitInBytes),
  };
}

/** A created container's bundle config given the new resources (what it starts with). */
async function updateBundleResources(
  bundlePath: string,
  linux: LinuxContainerResources,
): Promise<void> {
  const path = join(bundlePath, 'config.json');
  const spec = JSON.parse(await readFile(path, 'utf8')) as {
    linux?: { resources?: { cpu?: Record<string, unknown>; memory?: Record<string, unknown> } };
  };
  const resources = ((spec.linux ??= {}).resources ??= {});
  const update = linuxResourcesToUpdate(linux);
  const cpu: Record<string, unknown> = {
    ...(update.cpuShares !== undefined ? { shares: update.cpuShares } : {}),
    ...(update.cpuPeriod !== undefined ? { period: update.cpuPeriod } : {}),
    ...(update.cpuQuota !== undefined ? { quota: update.cpuQuota } : {}),
    ...(update.cpusetCpus !== undefined ? { cpus: update.cpusetCpus } : {}),
    ...(update.cpusetMems !== undefined ? { mems: update.cpusetMems } : {}),
  };
  if (Object.keys(cpu).length) resources.cpu = { ...resources.cpu, ...cpu };
  if (update.memory !== undefined)
    resources.memory = {
      ...resources.memory,
      limit: update.memory,
      ...(update.memorySwap !== undefined ? { swap: update.memorySwap } : {}),
    };
  await writeFileAtomicAsync(path, JSON.stringify(spec, null, 2));
}

/** The reason a container exited for, as the kubelet reads it. */
export function exitReason(exitCode: number, oomKilled: boolean): string {
  if (oomKilled) return 'OOMKilled';
  return exitCode === 0 ? 'Completed' : 'Error';
}

export class CriContainers implements CriContainerLookup {
  readonly store: ContainerStore;
  readonly #options: CriContainersOptions;
  /** One operation at a time per container (and per pod for creates: names are unique in a pod). */
  readonly #queue = new KeyedQueue();
  /** Record updates (load, change, save) one at a time per container. */
  readonly #writes = new Map<string, Promise<unknown>>();
  readonly #outputs = new Map<string, ContainerOutput>();
  /** stdin_once containers: berthd's writer keeping stdin open until the first attach ends. */
  readonly #stdinHolds = new Map<string, number>();
  /** Starts in progress: an exit of the container waits for its RUNNING record. */
  readonly #starts = new Map<string, Promise<unknown>>();
  readonly #exitWaiters = new Map<string, Array<() => void>>();
  readonly #events = new AbortController();
  #following: Promise<void> | undefined;
  #opening: Promise<void> | undefined;

  constructor(options: CriContainersOptions) {
    this.#options = options;
    this.store = new ContainerStore(join(options.stateDir, 'containers'));
  }

  /**
   * Picks up what an earlier berthd left: readers for running containers'
   * output, then the supervisor's events from the last one applied (exits
   * while berthd was down), then the running records whose container the
   * supervisor no longer has and whose exit the journal no longer holds.
   */
  open(): Promise<void> {
    this.#opening ??= this.#open();
    return this.#opening;
  }

  async #open(): Promise<void> {
    const supervised = new Set(
      (await this.#options.supervisor.state()).containers.map((c) => c.id),
    );
    for (const record of await this.store.list()) {
      if (record.state === 'CREATED' && record.holder)
        await this.#settleCutStart(record, supervised);
      if (record.state !== 'RUNNING') continue;
      try {
        this.#outputs.set(
          record.id,
          await ContainerOutput.open(this.#paths(record), record.logPath),
        );
      } catch {
        // Its FIFOs are gone (a machine restart): its exit is settled below.
      }
    }
    const since = await this.store.cursor();
    let live!: () => void;
    const isLive = new Promise<void>((resolve) => (live = resolve));
    // A subscription that fails before its `live` marker must not hold the start up.
    this.#following = this.#follow(since, live)
      .catch(() => {})
      .finally(live);
    await isLive;
    // A container the supervisor still has (even stopped, its exit being settled) sends its exit.
    const known = new Set((await this.#options.supervisor.state()).containers.map((c) => c.id));
    for (const record of await this.store.list()) {
      if (record.state !== 'RUNNING' || known.has(record.id)) continue;
      if (await this.#waitExit(record.id, LOST_EXIT_GRACE_MS)) continue;
      await this.#recordExit(record.id, { status: 255, timestamp: nowNs(), lost: true });
    }
  }

  /**
   * A start cut short by a kill -9 (its holder recorded, not yet RUNNING):
   * adopted as running if the supervisor has its container, else what the
   * start had made (holder, FIFOs) is undone and it stays CREATED.
   */
  async #settleCutStart(record: ContainerRecord, supervised: Set<string>): Promise<void> {
    if (supervised.has(record.id)) {
      record.state = 'RUNNING';
      record.startedAt = nowNs().toString();
    } else {
      killHolder(record.holder);
      delete record.holder;
      await rm(record.ioDir, { recursive: true, force: true });
    }
    await this.store.save(record);
  }

  /** Stops following events and reading output; containers and their holders stay for the next berthd. */
  async close(): Promise<void> {
    this.#events.abort();
    await this.#following?.catch(() => {});
    for (const output of this.#outputs.values()) output.close();
    this.#outputs.clear();
    for (const fd of this.#stdinHolds.values()) closeSync(fd);
    this.#stdinHolds.clear();
  }

  async #follow(since: bigint, live: () => void): Promise<void> {
    let cursor = since;
    while (!this.#events.signal.aborted) {
      let subscription: { close(): void } | undefined;
      try {
        const events = this.#options.supervisor.subscribe({
          since: cursor,
          signal: this.#events.signal,
        });
        subscription = events;
        for await (const event of events) {
          if (event.type === EventType.Live) {
            live();
            continue;
          }
          await this.#onEvent(event);
          cursor = event.timestamp;
          await this.store.saveCursor(cursor).catch(() => {});
        }
        return;
      } catch (err) {
        if (this.#events.signal.aborted) return;
        const last = (err as { lastTimestamp?: unknown }).lastTimestamp;
        // A slow subscriber resumes by replay from the last event it was given.
        if (typeof last === 'bigint' && last > cursor) cursor = last;
        await sleep(POLL_MS).catch(() => {});
      } finally {
        subscription?.close();
      }
    }
  }

  async #onEvent(event: SupervisorEvent): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(event.id)) return;
    if (event.type === EventType.Exit && event.pid === InitProcessID) {
      await this.#recordExit(event.id, { status: event.status, timestamp: event.timestamp });
    } else if (event.type === EventType.Oom) {
      await this.#update(event.id, (record) => {
        if (record.state !== 'RUNNING') return false;
        record.oomKilled = true;
        return true;
      });
    }
  }

  async #recordExit(
    id: string,
    exit: { status: number; timestamp: bigint; lost?: boolean },
  ): Promise<void> {
    await this.#starts.get(id)?.catch(() => {});
    const record = await this.store.load(id);
    if (!record || record.state !== 'RUNNING') return;
    // The holder's end closed, the output ends once the shim's has (it has exited): the log is whole.
    killHolder(record.holder);
    const output = this.#outputs.get(id);
    if (output) {
      await Promise.race([output.done, sleep(EXIT_DRAIN_MS)]);
      output.close();
      this.#outputs.delete(id);
    }
    this.#releaseStdin(id);
    await this.#update(id, (r) => {
      if (r.state !== 'RUNNING') return false;
      r.state = 'EXITED';
      r.exitCode = exit.status;
      r.finishedAt = exit.timestamp.toString();
      r.reason = exit.lost ? 'Unknown' : exitReason(exit.status, r.oomKilled ?? false);
      if (exit.lost)
        r.message = 'the container was gone, and its exit unrecorded, when berthd restarted';
      delete r.holder;
      return true;
    });
    await rm(record.ioDir, { recursive: true, force: true });
    for (const wake of this.#exitWaiters.get(id) ?? []) wake();
    this.#exitWaiters.delete(id);
  }

  async create(
    podSandboxId: string,
    config: ContainerConfig | undefined,
    sandboxConfig?: PodSandboxConfig,
  ): Promise<string> {
    const pods = this.#options.pods;
    const podId = await pods.resolve(podSandboxId);
    const pod = await pods.store.load(podId);
    if (!pod) throw new PodSandboxNotReadyError(`pod sandbox ${podId} not found`);
    const checked = checkContainerConfig(config, pod);
    const containerConfig = config!;
    const pausePid = await this.#initPid(pod.pauseContainerId);
    if (pod.state !== 'READY' || pausePid === 0)
      throw new PodSandboxNotReadyError(`pod sandbox ${podId} is not ready`);
    const image = await this.#options.images.get(checked.image);
    let targetPid: number | undefined;
    if (checked.pidMode === 'target') {
      const target = await this.#resolveRecord(checked.targetId);
      if (target.podSandboxId !== podId || target.state !== 'RUNNING')
        throw new InvalidContainerConfigError(
          `target container ${target.id} is not a running container of pod ${podId}`,
        );
      targetPid = await this.#initPid(target.id);
    }
    return this.#serialized(`pod:${podId}`, async () => {
      const taken = (await this.store.list()).find(
        (r) =>
          r.podSandboxId === podId &&
          r.metadata.name === checked.metadata.name &&
          r.metadata.attempt === checked.metadata.attempt,
      );
      if (taken)
        throw new ContainerNameTakenError(
          `pod ${podId} has a container ${checked.metadata.name}_${checked.metadata.attempt} already (${taken.id})`,
        );
      const id = randomBytes(32).toString('hex');
      const bundlePath = join(containersDir(this.#options.images.root), id);
      const record: ContainerRecord = {
        id,
        podSandboxId: podId,
        metadata: checked.metadata,
        labels: checked.labels,
        annotations: checked.annotations,
        image: checked.image,
        imageAnnotations: checked.imageAnnotations,
        imageRef: image.id,
        logPath: checked.logPath,
        mounts: containerConfig.mounts.map((m) => ({ ...m, propagation: m.propagation })),
        ...(containerConfig.linux?.resources
          ? { resources: recordResources(containerConfig.linux.resources) }
          : {}),
        stdin: containerConfig.stdin,
        stdinOnce: containerConfig.stdinOnce,
        tty: containerConfig.tty,
        stopSignal: stopSignalOf(image.config),
        bundlePath,
        upperDir: join(bundlePath, 'upper'),
        ioDir: this.store.ioDir(id),
        state: 'CREATED',
        createdAt: nowNs().toString(),
      };
      await this.store.save(record);
      try {
        const bundle = await createImageBundle(this.#options.images, {
          id,
          image,
          overrides: imageOverrides(containerConfig, pod),
        });
        const ctx: ContainerSpecContext = {
          containerId: id,
          imageConfig: image.config,
          imageLayers: this.#options.images.layerPaths(image),
          sandbox: pod,
          privilegedAllowed: sandboxConfig?.linux?.securityContext?.privileged ?? false,
        };
        const files = {
          resolvConf: join(pod.podDir, 'resolv.conf'),
          hostname: join(pod.podDir, 'hostname'),
          hosts: join(pod.podDir, 'hosts'),
        };
        const spec = await criContainerConfig(
          bundle.config,
          containerConfig,
          checked,
          files,
          { pausePid, ...(targetPid ? { targetPid } : {}) },
          ctx,
        );
        await writeFile(join(bundle.path, 'config.json'), JSON.stringify(spec, null, 2));
        if (checked.logPath) await mkdir(dirname(checked.logPath), { recursive: true });
        return id;
      } catch (err) {
        await this.#removeBundle(bundlePath);
        await this.store.remove(id);
        throw err;
      }
    });
  }

  async start(idOrPrefix: string): Promise<void> {
    const id = await this.#resolveId(idOrPrefix);
    const starting = this.#serialized(id, () => this.#start(id));
    this.#starts.set(id, starting);
    try {
      await starting;
    } finally {
      if (this.#starts.get(id) === starting) this.#starts.delete(id);
    }
  }

  async #start(id: string): Promise<void> {
    const record = await this.#load(id);
    if (record.state !== 'CREATED')
      throw new ContainerStateError(
        `container ${id} is ${record.state.toLowerCase()}: only a created container starts`,
      );
    const pod = await this.#options.pods.store.load(record.podSandboxId);
    if (!pod || pod.state !== 'READY')
      throw new PodSandboxNotReadyError(`pod sandbox ${record.podSandboxId} is not ready`);
    const paths = this.#paths(record);
    let output: ContainerOutput | undefined;
    try {
      await makeFifos(record.ioDir, paths);
      const held = [paths.stdout, paths.stderr];
      if (paths.stdin && !record.stdinOnce) held.push(paths.stdin);
      record.holder = await spawnHolder(held.filter(Boolean));
      await this.store.save(record);
      if (paths.stdin && record.stdinOnce)
        this.#stdinHolds.set(
          id,
          openSync(paths.stdin, fsConstants.O_RDWR | fsConstants.O_NONBLOCK),
        );
      output = await ContainerOutput.open(paths, record.logPath);
      this.#outputs.set(id, output);
      await this.#options.supervisor.createContainer({
        id,
        bundlePath: record.bundlePath,
        stdin: paths.stdin,
        stdout: paths.stdout,
        stderr: paths.stderr,
        labels: [`${SANDBOX_LABEL}=${record.podSandboxId}`, CRI_CONTAINER_LABEL],
      });
      await this.#update(id, (r) => {
        r.state = 'RUNNING';
        r.startedAt = nowNs().toString();
        if (record.holder) r.holder = record.holder;
        return true;
      });
    } catch (err) {
      // Nothing of the start is left: no process, FIFO, bundle or record (the kubelet creates anew).
      killHolder(record.holder);
      output?.close();
      this.#outputs.delete(id);
      this.#releaseStdin(id);
      await rm(record.ioDir, { recursive: true, force: true });
      await this.#removeBundle(record.bundlePath);
      await this.store.remove(id);
      throw err;
    }
  }

  /** Signals the container (its stop signal, then SIGKILL after `timeoutSeconds`); stopped ones are fine. */
  async stop(idOrPrefix: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    const id = await this.#resolveId(idOrPrefix);
    await this.#serialized(id, () => this.#stop(id, timeoutSeconds, signal));
  }

  async #stop(id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    const record = await this.#load(id);
    if (record.state !== 'RUNNING') return;
    if (timeoutSeconds > 0) {
      await this.#signal(id, record.stopSignal);
      if (await this.#waitExit(id, timeoutSeconds * 1000, signal)) return;
    }
    await this.#signal(id, 9);
    if (!(await this.#waitExit(id, this.#options.stopTimeoutMs ?? STOP_TIMEOUT_MS, signal)))
      throw new ContainerStopTimeoutError(`container ${id} did not exit after SIGKILL`);
  }

  async #signal(id: string, signal: number): Promise<void> {
    await this.#options.supervisor.signal(id, InitProcessID, signal).catch(() => {
      // Gone already (its exit is on its way) or exiting: the wait settles it.
    });
  }

  /** True once the container's exit is recorded, false after `ms`. */
  async #waitExit(id: string, ms: number, signal?: AbortSignal): Promise<boolean> {
    const exited = new Promise<void>((resolve) => {
      const waiters = this.#exitWaiters.get(id) ?? [];
      waiters.push(resolve);
      this.#exitWaiters.set(id, waiters);
    });
    const current = await this.store.load(id);
    if (!current || current.state !== 'RUNNING') return true;
    const timer = sleep(ms, 'timeout' as const, signal ? { signal } : {});
    return (await Promise.race([exited.then(() => 'exited' as const), timer])) === 'exited';
  }

  /** Removes the container (killing it if it runs); an id no container has is fine (the CRI's idempotence). */
  async remove(idOrPrefix: string, signal?: AbortSignal): Promise<void> {
    let id: string;
    try {
      id = await this.#resolveId(idOrPrefix);
    } catch (err) {
      if (err instanceof CriContainerNotFoundError) return;
      throw err;
    }
    await this.#serialized(id, async () => {
      const record = await this.store.load(id);
      if (!record) return;
      if (record.state === 'RUNNING') await this.#stop(id, 0, signal);
      killHolder(record.holder);
      this.#outputs.get(id)?.close();
      this.#outputs.delete(id);
      this.#releaseStdin(id);
      await rm(record.ioDir, { recursive: true, force: true });
      await this.#removeBundle(record.bundlePath);
      await this.store.remove(id);
    });
  }

  /** Removes every container of the pod (RemovePodSandbox removes its containers first, as containerd does). */
  async removePodContainers(podSandboxId: string, signal?: AbortSignal): Promise<void> {
    for (const record of await this.store.list())
      if (record.podSandboxId === podSandboxId) await this.remove(record.id, signal);
  }

  async list(): Promise<CriContainerView[]> {
    return (await this.store.list()).map((r) => this.#view(r));
  }

  async resolve(idOrPrefix: string): Promise<CriContainerView | undefined> {
    try {
      return this.#view(await this.#resolveRecord(idOrPrefix));
    } catch (err) {
      if (err instanceof CriContainerNotFoundError) return undefined;
      throw err;
    }
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    const containers: Container[] = [];
    for (const record of await this.store.list()) {
      if (filter?.id && !record.id.startsWith(filter.id)) continue;
      if (filter?.podSandboxId && !record.podSandboxId.startsWith(filter.podSandboxId)) continue;
      const state = STATE_OF[record.state];
      if (filter?.state && filter.state.state !== state) continue;
      const selector = Object.entries(filter?.labelSelector ?? {});
      if (selector.some(([key, value]) => record.labels[key] !== value)) continue;
      containers.push({
        id: record.id,
        podSandboxId: record.podSandboxId,
        metadata: { ...record.metadata },
        image: { image: record.image, annotations: { ...record.imageAnnotations } },
        imageRef: record.imageRef,
        state,
        createdAt: BigInt(record.createdAt),
        labels: { ...record.labels },
        annotations: { ...record.annotations },
      });
    }
    return containers.sort((a, b) =>
      a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0,
    );
  }

  async status(idOrPrefix: string, verbose = false): Promise<ContainerStatusResult> {
    const record = await this.#resolveRecord(idOrPrefix);
    const status: ContainerStatus = {
      id: record.id,
      metadata: { ...record.metadata },
      state: STATE_OF[record.state],
      createdAt: BigInt(record.createdAt),
      startedAt: BigInt(record.startedAt ?? '0'),
      finishedAt: BigInt(record.finishedAt ?? '0'),
      exitCode: record.exitCode ?? 0,
      image: { image: record.image, annotations: { ...record.imageAnnotations } },
      imageRef: record.imageRef,
      reason: record.reason ?? '',
      message: record.message ?? '',
      labels: { ...record.labels },
      annotations: { ...record.annotations },
      mounts: record.mounts.map((m) => ({ ...m })),
      logPath: record.logPath,
      resources: record.resources
        ? { linux: wireResources(record.resources), windows: undefined }
        : undefined,
    };
    const info: Record<string, string> = {};
    if (verbose) {
      const pid = record.state === 'RUNNING' ? await this.#initPid(record.id) : 0;
      let runtimeSpec: unknown;
      try {
        runtimeSpec = JSON.parse(await readFile(join(record.bundlePath, 'config.json'), 'utf8'));
      } catch {
        runtimeSpec = undefined; // Exited: the bundle went with the supervisor's delete.
      }
      info.info = JSON.stringify({
        sandboxID: record.podSandboxId,
        pid,
        bundle: record.bundlePath,
        ioDir: record.ioDir,
        holder: record.holder ?? null,
        stdin: record.stdin,
        stdinOnce: record.stdinOnce,
        tty: record.tty,
        stopSignal: record.stopSignal,
        oomKilled: record.oomKilled ?? false,
        runtimeSpec,
      });
    }
    return { status, info };
  }

  async updateResources(
    idOrPrefix: string,
    linux: LinuxContainerResources | undefined,
  ): Promise<void> {
    const id = await this.#resolveId(idOrPrefix);
    await this.#serialized(id, async () => {
      const record = await this.#load(id);
      if (!linux) return;
      if (record.state === 'RUNNING')
        await this.#options.supervisor.updateContainer({
          id,
          resources: linuxResourcesToUpdate(linux),
        });
      else if (record.state === 'CREATED') await updateBundleResources(record.bundlePath, linux);
      else if (record.state === 'EXITED')
        throw new ContainerStateError(`container ${id} has exited: its resources cannot change`);
      await this.#update(id, (r) => {
        r.resources = recordResources(linux);
        return true;
      });
    });
  }

  async reopenLog(idOrPrefix: string): Promise<void> {
    const id = await this.#resolveId(idOrPrefix);
    const record = await this.#load(id);
    const output = this.#outputs.get(id);
    if (record.state !== 'RUNNING' || !output)
      throw new ContainerStateError(`container ${id} is not running: its log cannot be reopened`);
    await output.reopen();
  }

  /**
   * Joins the container's main process: its output from now on to the
   * client, the client's input to its stdin, window sizes to its terminal;
   * until it exits or the client leaves.
   */
  async attach(idOrPrefix: string, streams: SessionStreams): Promise<void> {
    const id = await this.#resolveId(idOrPrefix);
    const record = await this.#load(id);
    const output = this.#outputs.get(id);
    if (record.state !== 'RUNNING' || !output)
      throw new ContainerStateError(`container ${id} is not running: nothing to attach to`);
    const detach = output.attach(streams.stdout, record.tty ? null : streams.stderr);
    const paths = this.#paths(record);
    const input = streams.stdin && paths.stdin ? openStdin(paths.stdin) : undefined;
    if (input && streams.stdin) {
      streams.stdin.pipe(input, { end: false });
      streams.stdin.once('end', () => {
        // stdin_once: the client's end is the process's end of input.
        if (record.stdinOnce) {
          this.#releaseStdin(id);
          input.end();
        }
      });
    }
    void (async () => {
      for await (const size of streams.resize ?? [])
        await this.#options.supervisor
          .updateProcess({ id, pid: InitProcessID, width: size.width, height: size.height })
          .catch(() => {});
    })();
    try {
      await new Promise<void>((resolve) => {
        if (streams.signal.aborted) return resolve();
        streams.signal.addEventListener('abort', () => resolve(), { once: true });
        void output.done.then(() => resolve());
      });
    } finally {
      detach();
      if (input && streams.stdin) streams.stdin.unpipe(input);
      input?.destroy();
    }
  }

  #paths(record: ContainerRecord): IoPaths {
    return ioPaths(record.ioDir, { stdin: record.stdin, tty: record.tty });
  }

  #releaseStdin(id: string): void {
    const fd = this.#stdinHolds.get(id);
    if (fd === undefined) return;
    this.#stdinHolds.delete(id);
    closeSync(fd);
  }

  #view(record: ContainerRecord): CriContainerView {
    return {
      id: record.id,
      podSandboxId: record.podSandboxId,
      metadata: { ...record.metadata },
      labels: { ...record.labels },
      annotations: { ...record.annotations },
      image: record.image,
      imageRef: record.imageRef,
      state: VIEW_STATE[record.state],
      // The upper dir goes with the bundle at the supervisor's delete (the exit).
      ...(record.state !== 'EXITED' ? { writableLayerPath: record.upperDir } : {}),
    };
  }

  /** The host PID of a supervisor container's init; 0 when it does not run. */
  async #initPid(id: string): Promise<number> {
    try {
      const [info] = (await this.#options.supervisor.state(id)).containers;
      if (!info || info.status === 'stopped') return 0;
      return info.processes.find((p) => p.pid === InitProcessID)?.systemPid ?? 0;
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
  }

  async #load(id: string): Promise<ContainerRecord> {
    const record = await this.store.load(id);
    if (!record) throw new CriContainerNotFoundError(`container ${id} not found`);
    return record;
  }

  async #resolveId(idOrPrefix: string): Promise<string> {
    return (await this.#resolveRecord(idOrPrefix)).id;
  }

  /** The record of a full id or a unique prefix of one (as crictl users type them). */
  async #resolveRecord(idOrPrefix: string): Promise<ContainerRecord> {
    if (typeof idOrPrefix !== 'string' || !/^[0-9a-f]{1,64}$/.test(idOrPrefix))
      throw new CriContainerNotFoundError(
        `container ${JSON.stringify(String(idOrPrefix).slice(0, 80))} not found`,
      );
    if (idOrPrefix.length === 64) {
      const record = await this.store.load(idOrPrefix);
      if (record) return record;
    }
    const matches = (await this.store.list()).filter((r) => r.id.startsWith(idOrPrefix));
    if (matches.length === 0)
      throw new CriContainerNotFoundError(`container ${idOrPrefix} not found`);
    if (matches.length > 1)
      throw new AmbiguousContainerIdError(
        `container id prefix ${idOrPrefix} names ${matches.length} containers`,
      );
    return matches[0]!;
  }

  /** A bundle no runtime took (or one left after its delete); never one still mounted. */
  async #removeBundle(bundlePath: string): Promise<void> {
    if (
      existsSync(bundlePath) &&
      !mountPoints().some((p) => p === bundlePath || p.startsWith(`${bundlePath}/`))
    )
      await rm(bundlePath, { recursive: true, force: true });
  }

  /** Load, change, save: `change` returns false to leave the record as it is. */
  async #update(id: string, change: (record: ContainerRecord) => boolean): Promise<void> {
    const previous = this.#writes.get(id) ?? Promise.resolve();
    const next = previous.then(async () => {
      const record = await this.store.load(id);
      if (record && change(record)) await this.store.save(record);
    });
    const settled = next.catch(() => {});
    this.#writes.set(id, settled);
    void settled.then(() => {
      if (this.#writes.get(id) === settled) this.#writes.delete(id);
    });
    return next;
  }

  #serialized<T>(key: string, run: () => Promise<T>): Promise<T> {
    return this.#queue.run(key, run);
  }
}
