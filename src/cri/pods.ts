/**
 * Pod sandboxes: RunPodSandbox makes a pod's network (PodNetworks: netns +
 * CNI ADD), its files (resolv.conf, hostname, hosts) and its pause container
 * (a supervisor container of the sandbox image holding the pod's
 * namespaces); StopPodSandbox kills the pod's containers and tears the
 * network down; RemovePodSandbox removes what is left. Records on disk
 * (sandbox-store.ts) are the truth: a restarted berthd lists every pod again,
 * its state following its pause container, and stops or removes what an
 * earlier one made. A RunPodSandbox that fails undoes every step it did.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  containersDir,
  createImageBundle,
  ImageNotFoundError,
  type BundleImage,
  type BundleStore,
} from '../images/index.js';
import { mountPoints, writeFileAtomicAsync, type BundleConfig } from '../runtime/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import {
  NamespaceMode,
  PodSandboxState,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
} from './generated/api.js';
import {
  AmbiguousPodSandboxIdError,
  PodNetworkUnavailableError,
  PodSandboxNotFoundError,
  PodSandboxStopTimeoutError,
} from './pod-errors.js';
import { writePodFiles, type PodFiles } from './pod-files.js';
import { pauseContainerConfig, podRecordDraft } from './pod-spec.js';
import type { PodNetworks } from './pod-network.js';
import { SandboxStore, type PodRecord } from './sandbox-store.js';
import { KeyedQueue } from './keyed-queue.js';

/** The kubelet's default sandbox image (what berthd's --sandbox-image defaults to). */
export const DEFAULT_SANDBOX_IMAGE = 'registry.k8s.io/pause:3.9';
/** The label marking a supervisor container as a pod's: its sandbox id follows. */
export const SANDBOX_LABEL = 'io.kubernetes.cri.sandbox-id';
const STOP_TIMEOUT_MS = 15_000;
const STOP_POLL_MS = 50;

/** What the pods need of the image store (ImageStore has it). */
export interface SandboxImages<I extends BundleImage = BundleImage> extends BundleStore<I> {
  pull?(reference: string, options?: { signal?: AbortSignal }): Promise<I>;
}

export interface PodSandboxesOptions {
  supervisor: SupervisorApi;
  images: SandboxImages;
  /** The CRI's state: `pods/<id>.json` records and `pods/<id>/` pod files. */
  stateDir: string;
  /** Pod networking; a pod with its own network cannot run without it. */
  networks?: PodNetworks;
  sandboxImage?: string;
  /** The pause container's command; the image's own by default. */
  sandboxCommand?: string[];
  /** How long StopPodSandbox waits for the pause container to die of SIGKILL. */
  stopTimeoutMs?: number;
}

export interface PodSandboxStatusResult {
  status: PodSandboxStatus;
  info: Record<string, string>;
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 'ERR_CONTAINER_NOT_FOUND';
}

export class PodSandboxes {
  readonly store: SandboxStore;
  readonly sandboxImage: string;
  readonly #options: PodSandboxesOptions;
  /** One operation at a time per sandbox: a stop racing a remove would leak. */
  readonly #queue = new KeyedQueue();

  constructor(options: PodSandboxesOptions) {
    this.#options = options;
    this.store = new SandboxStore(join(options.stateDir, 'pods'));
    this.sandboxImage = options.sandboxImage ?? DEFAULT_SANDBOX_IMAGE;
  }

  podDir(id: string): string {
    return join(this.store.dir, id);
  }

  async run(
    config: PodSandboxConfig | undefined,
    runtimeHandler = '',
    signal?: AbortSignal,
  ): Promise<string> {
    const draft = podRecordDraft(config, runtimeHandler, osHostname());
    const networks = this.#options.networks;
    if (draft.namespaces.network === 'pod' && !networks)
      throw new PodNetworkUnavailableError('pod networking is not configured on this berthd');
    const image = await this.#sandboxImage(signal);
    const id = randomBytes(32).toString('hex');
    const record: PodRecord = {
      ...draft,
      id,
      createdAt: nowNs().toString(),
      state: 'NOTREADY',
      podDir: this.podDir(id),
      pauseContainerId: id,
      sandboxImage: this.sandboxImage,
    };
    return this.#serialized(id, async () => {
      await this.store.save(record);
      try {
        let netns: string | undefined;
        if (draft.namespaces.network === 'pod' && networks) {
          const network = await networks.setUp(
            {
              sandboxId: id,
              podName: draft.metadata.name,
              podNamespace: draft.metadata.namespace,
              podUid: draft.metadata.uid,
              portMappings: draft.portMappings,
            },
            signal,
          );
          netns = network.netns;
          record.network = { netns, ips: network.result.podIps };
          await this.store.save(record);
        }
        const files = await writePodFiles(record.podDir, {
          hostname: record.hostname,
          dns: record.dns,
          ips: record.network?.ips ?? [],
        });
        await this.#startPause(record, image, files, netns);
        record.state = 'READY';
        await this.store.save(record);
        return id;
      } catch (err) {
        // A setUp that failed undid itself: its DEL would only fail again on the same config.
        const networkUp = record.network !== undefined;
        await this.#removeAll(record, undefined, networkUp).catch((cleanup: unknown) => {
          (err as Error & { cleanupError?: unknown }).cleanupError = cleanup;
        });
        throw err;
      }
    });
  }

  async stop(idOrPrefix: string, signal?: AbortSignal): Promise<void> {
    const id = await this.resolve(idOrPrefix);
    await this.#serialized(id, async () => {
      const record = await this.store.load(id);
      if (!record) throw new PodSandboxNotFoundError(`pod sandbox ${id} not found`);
      await this.#stop(record, signal);
    });
  }

  /** Removes the sandbox; an id no sandbox has is fine (the CRI's idempotence). */
  async remove(idOrPrefix: string, signal?: AbortSignal): Promise<void> {
    let id: string;
    try {
      id = await this.resolve(idOrPrefix);
    } catch (err) {
      if (err instanceof PodSandboxNotFoundError) return;
      throw err;
    }
    await this.#serialized(id, async () => {
      const record = await this.store.load(id);
      if (record) await this.#removeAll(record, signal);
    });
  }

  async status(idOrPrefix: string, verbose = false): Promise<PodSandboxStatusResult> {
    const id = await this.resolve(idOrPrefix);
    const record = await this.store.load(id);
    if (!record) throw new PodSandboxNotFoundError(`pod sandbox ${id} not found`);
    const pause = await this.#pause(record);
    const status: PodSandboxStatus = {
      ...this.#summary(record, pause !== undefined),
      network: {
        ip: record.network?.ips[0] ?? '',
        additionalIps: (record.network?.ips.slice(1) ?? []).map((ip) => ({ ip })),
      },
      linux: {
        namespaces: {
          options: {
            network: record.namespaces.network === 'node' ? NamespaceMode.NODE : NamespaceMode.POD,
            pid: record.namespaces.pid === 'node' ? NamespaceMode.NODE : NamespaceMode.POD,
            ipc: record.namespaces.ipc === 'node' ? NamespaceMode.NODE : NamespaceMode.POD,
            targetId: '',
            usernsOptions: undefined,
          },
        },
      },
    };
    const info: Record<string, string> = {};
    if (verbose) {
      let runtimeSpec: unknown;
      try {
        runtimeSpec = JSON.parse(
          await readFile(
            join(containersDir(this.#options.images.root), record.pauseContainerId, 'config.json'),
            'utf8',
          ),
        );
      } catch {
        runtimeSpec = undefined; // Stopped: the pause container's bundle went with it.
      }
      info.info = JSON.stringify({
        pid: pause?.pid ?? 0,
        pauseContainerId: record.pauseContainerId,
        pauseContainerStatus: pause?.status ?? 'gone',
        image: record.sandboxImage,
        netns: record.network?.netns ?? '',
        podDir: record.podDir,
        config: {
          metadata: record.metadata,
          hostname: record.hostname,
          dns: record.dns,
          portMappings: record.portMappings,
          cgroupParent: record.cgroupParent,
          sysctls: record.sysctls,
          namespaces: record.namespaces,
        },
        runtimeSpec,
      });
    }
    return { status, info };
  }

  async list(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    const running = await this.#runningContainers();
    const pods: PodSandbox[] = [];
    for (const record of await this.store.list()) {
      if (filter?.id && !record.id.startsWith(filter.id)) continue;
      const pod = this.#summary(record, running.has(record.pauseContainerId));
      if (filter?.state && pod.state !== filter.state.state) continue;
      const selector = Object.entries(filter?.labelSelector ?? {});
      if (selector.some(([key, value]) => record.labels[key] !== value)) continue;
      pods.push(pod);
    }
    return pods.sort((a, b) =>
      a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0,
    );
  }

  /** The full id of `idOrPrefix` (a unique prefix will do, as crictl users type them). */
  async resolve(idOrPrefix: string): Promise<string> {
    if (typeof idOrPrefix !== 'string' || !/^[0-9a-f]{1,64}$/.test(idOrPrefix))
      throw new PodSandboxNotFoundError(
        `pod sandbox ${JSON.stringify(String(idOrPrefix).slice(0, 80))} not found`,
      );
    if (idOrPrefix.length === 64 && (await this.store.load(idOrPrefix))) return idOrPrefix;
    const matches = (await this.store.list()).filter((r) => r.id.startsWith(idOrPrefix));
    if (matches.length === 0)
      throw new PodSandboxNotFoundError(`pod sandbox ${idOrPrefix} not found`);
    if (matches.length > 1)
      throw new AmbiguousPodSandboxIdError(
        `pod sandbox id prefix ${idOrPrefix} names ${matches.length} sandboxes`,
      );
    return matches[0]!.id;
  }

  #summary(record: PodRecord, pauseRunning: boolean): PodSandbox {
    return {
      id: record.id,
      metadata: { ...record.metadata },
      state:
        record.state === 'READY' && pauseRunning
          ? PodSandboxState.SANDBOX_READY
          : PodSandboxState.SANDBOX_NOTREADY,
      createdAt: BigInt(record.createdAt),
      labels: { ...record.labels },
      annotations: { ...record.annotations },
      runtimeHandler: record.runtimeHandler,
    };
  }

  async #sandboxImage(signal?: AbortSignal): Promise<BundleImage> {
    const images = this.#options.images;
    try {
      return await images.get(this.sandboxImage);
    } catch (err) {
      // containerd's rule: the runtime pulls its sandbox image itself when it lacks it.
      if (!(err instanceof ImageNotFoundError) || !images.pull) throw err;
      return images.pull(this.sandboxImage, signal ? { signal } : {});
    }
  }

  async #startPause(
    record: PodRecord,
    image: BundleImage,
    files: PodFiles,
    netns: string | undefined,
  ): Promise<void> {
    const command = this.#options.sandboxCommand;
    const bundle = await createImageBundle(this.#options.images, {
      id: record.pauseContainerId,
      image,
      overrides: {
        ...(command ? { entrypoint: command.slice(0, 1), args: command.slice(1) } : {}),
        hostname: record.hostname,
      },
    });
    const config: BundleConfig = pauseContainerConfig(bundle.config, record, files, netns);
    await writeFileAtomicAsync(join(bundle.path, 'config.json'), JSON.stringify(config, null, 2));
    await this.#options.supervisor.createContainer({
      id: record.pauseContainerId,
      bundlePath: bundle.path,
      labels: [`${SANDBOX_LABEL}=${record.id}`],
    });
  }

  /** The pause container, if it is there and not stopped. */
  async #pause(record: PodRecord): Promise<{ pid: number; status: string } | undefined> {
    try {
      const [info] = (await this.#options.supervisor.state(record.pauseContainerId)).containers;
      if (!info || info.status === 'stopped') return undefined;
      return {
        pid: info.processes.find((p) => p.pid === 'init')?.systemPid ?? 0,
        status: info.status,
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #runningContainers(): Promise<Set<string>> {
    const { containers } = await this.#options.supervisor.state();
    return new Set(containers.filter((c) => c.status !== 'stopped').map((c) => c.id));
  }

  /** Kills the pod's containers (the pause container last) and tears its network down; again is fine. */
  async #stop(record: PodRecord, signal?: AbortSignal, networkUp = true): Promise<void> {
    const supervisor = this.#options.supervisor;
    const { containers } = await supervisor.state();
    const label = `${SANDBOX_LABEL}=${record.id}`;
    const members = containers
      .filter((c) => c.labels.includes(label) && c.id !== record.pauseContainerId)
      .map((c) => c.id);
    await Promise.all(members.map((id) => this.#kill(id, signal)));
    await this.#kill(record.pauseContainerId, signal);
    // A record without a network may still be a RunPodSandbox cut short in its ADD (kill -9): DEL anyway.
    if (networkUp && record.namespaces.network === 'pod')
      await this.#options.networks?.tearDown(record.id, undefined, signal);
    // The IP is released: another pod may get it next, so it is no longer this one's to report.
    if (record.state !== 'NOTREADY' || record.network) {
      record.state = 'NOTREADY';
      delete record.network;
      await this.store.save(record);
    }
  }

  /** SIGKILL, then wait until the supervisor has deleted the container (runc delete: cgroup, rootfs). */
  async #kill(id: string, signal?: AbortSignal): Promise<void> {
    const supervisor = this.#options.supervisor;
    try {
      await supervisor.signal(id, 'init', 9);
    } catch (err) {
      if (isNotFound(err)) return;
      // A process already exiting refuses signals: waiting below settles it.
    }
    const deadline = Date.now() + (this.#options.stopTimeoutMs ?? STOP_TIMEOUT_MS);
    for (;;) {
      try {
        await supervisor.state(id);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      if (Date.now() > deadline)
        throw new PodSandboxStopTimeoutError(
          `container ${id} of the pod did not exit after SIGKILL`,
        );
      await sleep(STOP_POLL_MS, undefined, signal ? { signal } : {});
    }
  }

  /** Stops, then removes the pod's files, a pause bundle no container took, and the record last. */
  async #removeAll(record: PodRecord, signal?: AbortSignal, networkUp = true): Promise<void> {
    await this.#stop(record, signal, networkUp);
    await rm(record.podDir, { recursive: true, force: true });
    const bundle = join(containersDir(this.#options.images.root), record.pauseContainerId);
    // A create that failed before the runtime owned the bundle leaves it to us; never one still mounted.
    if (
      existsSync(bundle) &&
      !mountPoints().some((p) => p === bundle || p.startsWith(`${bundle}/`))
    )
      await rm(bundle, { recursive: true, force: true });
    await this.store.remove(record.id);
  }

  #serialized<T>(id: string, run: () => Promise<T>): Promise<T> {
    return this.#queue.run(id, run);
  }
}
