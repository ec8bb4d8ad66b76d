/**
 * ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats:
 * the cgroup files the runtime library reads (supervisor.stats), the
 * writable layer's size (its overlay upper dir walked), and for a pod its
 * cgroup parent's statistics, its network counters from the pause process'
 * /proc/<pid>/net/dev (its network namespace's, without entering it) and its
 * process count. Nothing is spawned. The last CPU sample of each container
 * and pod is kept for the next call's rate (stats-translate.ts).
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { cgroupPathsForPid, readStats, type CgroupPaths, type Stat } from '../runtime/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import type { CriContainerLookup, CriContainerView } from './container-lookup.js';
import { CriContainerNotFoundError } from './exec-errors.js';
import type {
  ContainerStats,
  ContainerStatsFilter,
  FilesystemUsage,
  PodSandboxStats,
  PodSandboxStatsFilter,
} from './generated/api.js';
import { storeUsage } from './image-fs.js';
import { PodSandboxNotFoundError } from './pod-errors.js';
import type { PodRecord } from './sandbox-store.js';
import {
  containerAttributes,
  containerMatches,
  cpuUsage,
  memoryUsage,
  networkUsage,
  parseNetDev,
  podAttributes,
  podMatches,
  statTimestampNs,
  sumStats,
  type CpuSample,
} from './stats-translate.js';

/** What the stats need of the pod sandboxes (PodSandboxes has it). */
export interface PodSandboxSource {
  resolve(idOrPrefix: string): Promise<string>;
  store: { load(id: string): Promise<PodRecord | undefined>; list(): Promise<PodRecord[]> };
}

export interface CriStatsOptions {
  supervisor: SupervisorApi;
  lookup: CriContainerLookup;
  /** Without it, pod stats answer that no pod is found. */
  pods?: PodSandboxSource;
  /** The filesystem writable layers are on, as ImageFsInfo names it (the image store's root). */
  imageFsMountpoint?: string;
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** The cgroups one level up: a pause container's cgroup is `<cgroup parent>/<pod id>`. */
function parentCgroup(paths: CgroupPaths): CgroupPaths {
  const v1 = new Map([...paths.v1].map(([controller, dir]) => [controller, dirname(dir)]));
  return paths.unified === undefined
    ? { version: paths.version, v1 }
    : { version: paths.version, v1, unified: dirname(paths.unified) };
}

/** The pause process' cgroup in any hierarchy statistics come from. */
function anyStatsDir(paths: CgroupPaths): string | undefined {
  return paths.version === 2 ? paths.unified : (paths.v1.get('memory') ?? paths.v1.get('cpuacct'));
}

export class CriStats {
  readonly #options: CriStatsOptions;
  readonly #samples = new Map<string, CpuSample>();

  constructor(options: CriStatsOptions) {
    this.#options = options;
  }

  async containerStats(containerId: string): Promise<ContainerStats> {
    const view = containerId ? await this.#options.lookup.resolve(containerId) : undefined;
    if (!view) throw new CriContainerNotFoundError(`container ${containerId} not found`);
    return (await this.#containerStats(view)) ?? this.#statsWithoutCgroup(view);
  }

  /** Running containers only (the others have no cgroup to read), as containerd lists them. */
  async listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]> {
    const views = await this.#options.lookup.list();
    this.#forgetAllBut(views.map((v) => v.id));
    const wanted = views.filter((v) => v.state === 'running' && containerMatches(v, filter));
    const stats = await Promise.all(wanted.map((view) => this.#containerStats(view)));
    return stats.filter((s): s is ContainerStats => s !== undefined);
  }

  async podSandboxStats(podSandboxId: string): Promise<PodSandboxStats> {
    const pods = this.#pods(podSandboxId);
    const id = await pods.resolve(podSandboxId);
    const record = await pods.store.load(id);
    if (!record) throw new PodSandboxNotFoundError(`pod sandbox ${podSandboxId} not found`);
    const views = await this.#options.lookup.list();
    return (
      (await this.#podStats(record, views)) ?? {
        attributes: podAttributes(record),
        linux: undefined,
        windows: undefined,
      }
    );
  }

  /** Ready pods only, as containerd lists them. */
  async listPodSandboxStats(filter?: PodSandboxStatsFilter): Promise<PodSandboxStats[]> {
    if (!this.#options.pods) return [];
    const [records, views] = await Promise.all([
      this.#options.pods.store.list(),
      this.#options.lookup.list(),
    ]);
    const known = new Set(records.map((r) => `pod:${r.id}`));
    for (const key of this.#samples.keys())
      if (key.startsWith('pod:') && !known.has(key)) this.#samples.delete(key);
    const wanted = records.filter((r) => r.state === 'READY' && podMatches(r, filter));
    const stats = await Promise.all(wanted.map((record) => this.#podStats(record, views)));
    return stats.filter((s): s is PodSandboxStats => s !== undefined);
  }

  #pods(podSandboxId: string): PodSandboxSource {
    const pods = this.#options.pods;
    if (!pods || !podSandboxId)
      throw new PodSandboxNotFoundError(`pod sandbox ${podSandboxId} not found`);
    return pods;
  }

  /** Undefined when the container has no cgroup (not running, or gone meanwhile). */
  async #containerStats(view: CriContainerView): Promise<ContainerStats | undefined> {
    if (view.state !== 'running') return undefined;
    const stat = await this.#stat(view.id);
    if (!stat) return undefined;
    const atNs = statTimestampNs(stat);
    const { usage, sample } = cpuUsage(stat, atNs, this.#samples.get(view.id));
    this.#samples.set(view.id, sample);
    return {
      attributes: containerAttributes(view),
      cpu: usage,
      memory: memoryUsage(stat, atNs),
      writableLayer: await this.#writableLayer(view),
    };
  }

  async #statsWithoutCgroup(view: CriContainerView): Promise<ContainerStats> {
    return {
      attributes: containerAttributes(view),
      cpu: undefined,
      memory: undefined,
      writableLayer: await this.#writableLayer(view),
    };
  }

  async #stat(containerId: string): Promise<Stat | undefined> {
    try {
      return await this.#options.supervisor.stats(containerId);
    } catch {
      // Exited or deleted between the listing and the reading: no figures, not an error.
      return undefined;
    }
  }

  async #writableLayer(view: CriContainerView): Promise<FilesystemUsage | undefined> {
    if (!view.writableLayerPath) return undefined;
    const timestamp = nowNs();
    const usage = await storeUsage(view.writableLayerPath).catch(() => undefined);
    if (!usage) return undefined;
    return {
      timestamp,
      fsId: { mountpoint: this.#options.imageFsMountpoint ?? dirname(view.writableLayerPath) },
      usedBytes: { value: usage.usedBytes },
      inodesUsed: { value: usage.inodesUsed },
    };
  }

  /** Undefined when the pod has no live pause process to read through. */
  async #podStats(
    record: PodRecord,
    views: readonly CriContainerView[],
  ): Promise<PodSandboxStats | undefined> {
    if (record.state !== 'READY') return undefined;
    const pausePid = await this.#pausePid(record.pauseContainerId);
    if (!pausePid) return undefined;
    const members = views.filter((v) => v.podSandboxId === record.id && v.state === 'running');
    const containers = (await Promise.all(members.map((v) => this.#containerStats(v)))).filter(
      (s): s is ContainerStats => s !== undefined,
    );
    const stat = await this.#podCgroupStat(record, pausePid, members);
    if (!stat) return undefined;
    const atNs = statTimestampNs(stat);
    const key = `pod:${record.id}`;
    const { usage, sample } = cpuUsage(stat, atNs, this.#samples.get(key));
    this.#samples.set(key, sample);
    const network =
      record.namespaces.network === 'pod'
        ? await readFile(`/proc/${pausePid}/net/dev`, 'utf8').then(
            (text) => networkUsage(parseNetDev(text), nowNs()),
            () => undefined,
          )
        : undefined;
    return {
      attributes: podAttributes(record),
      linux: {
        cpu: usage,
        memory: memoryUsage(stat, atNs),
        network,
        process: { timestamp: atNs, processCount: { value: stat.pids.current } },
        containers,
      },
      windows: undefined,
    };
  }

  async #pausePid(pauseContainerId: string): Promise<number | undefined> {
    try {
      const [info] = (await this.#options.supervisor.state(pauseContainerId)).containers;
      if (!info || info.status === 'stopped') return undefined;
      return info.processes.find((p) => p.pid === 'init')?.systemPid || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The pod's cgroup parent when it has one (the pause container's cgroup is
   * `<parent>/<pod id>`: its parent is read); else its pause container's and
   * containers' statistics added up.
   */
  async #podCgroupStat(
    record: PodRecord,
    pausePid: number,
    members: readonly CriContainerView[],
  ): Promise<Stat | undefined> {
    if (record.cgroupParent) {
      try {
        const paths = cgroupPathsForPid(pausePid);
        const dir = anyStatsDir(paths);
        if (dir && basename(dir) === record.pauseContainerId) return readStats(parentCgroup(paths));
      } catch {
        // The pause process went away: fall through to what is left.
      }
    }
    const stats = await Promise.all(
      [record.pauseContainerId, ...members.map((v) => v.id)].map((id) => this.#stat(id)),
    );
    return sumStats(
      stats.filter((s): s is Stat => s !== undefined),
      new Date(),
    );
  }

  /** Samples of containers no longer listed go (pods' go in listPodSandboxStats). */
  #forgetAllBut(ids: readonly string[]): void {
    const keep = new Set(ids);
    for (const key of this.#samples.keys()) {
      if (!key.startsWith('pod:') && !keep.has(key)) this.#samples.delete(key);
    }
  }
}
