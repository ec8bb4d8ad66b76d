/**
 * One round of bench/cri.ts on one runtime: `count` pods, each with one
 * container of the bench image, run → ready → (container) running, then
 * stopped and removed, `concurrency` at a time. What is timed per pod:
 * - pod start: RunPodSandbox, PodSandboxStatus until READY, CreateContainer,
 *   StartContainer, ContainerStatus until RUNNING (the kubelet's own order);
 *   without containers (`containers: false`) the first two only;
 * - stop: StopPodSandbox; remove: RemovePodSandbox.
 * Between start and stop, with every pod running, `whileRunning` is called
 * (the memory figures are read there).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerConfig, ContainerState, PodSandboxConfig } from '../src/cri/generated/api.js';
import type { CriClient } from './cri-client.js';

export interface RoundOptions {
  count: number;
  concurrency: number;
  image: string;
  /** Whether each pod gets its container (false: the runtime has no CreateContainer yet). */
  containers: boolean;
  /** Each pod's log directory is made under it, as the kubelet makes it. */
  logRoot: string;
  cgroupParent: string;
  /** Unique per round, in the pods' names and uids. */
  tag: string;
}

export interface PodTimes {
  /** RunPodSandbox + PodSandboxStatus READY. */
  readyMs: number;
  /** readyMs + CreateContainer + StartContainer + ContainerStatus RUNNING (= readyMs without containers). */
  startMs: number;
  stopMs: number;
  removeMs: number;
}

export interface RoundResult {
  pods: PodTimes[];
  wallStartMs: number;
  wallStopMs: number;
  wallRemoveMs: number;
}

/** Runs `task(i)` for i < count, at most `concurrency` at once, results in order of i. */
export async function pool<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

function podConfig(options: RoundOptions, i: number): PodSandboxConfig {
  const name = `bench-${options.tag}-${i}`;
  const logDirectory = join(options.logRoot, name);
  mkdirSync(logDirectory, { recursive: true });
  return PodSandboxConfig.fromPartial({
    metadata: { name, namespace: 'bench', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    logDirectory,
    labels: { app: 'bench' },
    linux: { cgroupParent: options.cgroupParent },
  });
}

function containerConfig(options: RoundOptions): ContainerConfig {
  return ContainerConfig.fromPartial({
    metadata: { name: 'main', attempt: 0 },
    image: { image: options.image },
    logPath: 'main.log',
  });
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 60 s`);
    await sleep(5);
  }
}

interface Started {
  podId: string;
  readyMs: number;
  startMs: number;
}

async function startPod(client: CriClient, options: RoundOptions, i: number): Promise<Started> {
  const config = podConfig(options, i);
  const started = performance.now();
  const podId = await client.runPodSandbox(config);
  try {
    await until(`pod ${podId} READY`, () => client.podReady(podId));
    const readyMs = performance.now() - started;
    if (options.containers) {
      const containerId = await client.createContainer(podId, containerConfig(options), config);
      await client.startContainer(containerId);
      await until(
        `container ${containerId} RUNNING`,
        async () => (await client.containerState(containerId)) === ContainerState.CONTAINER_RUNNING,
      );
    }
    return { podId, readyMs, startMs: performance.now() - started };
  } catch (err) {
    await client.stopPodSandbox(podId).catch(() => {});
    await client.removePodSandbox(podId).catch(() => {});
    throw err;
  }
}

async function timed(action: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

export async function runRound(
  client: CriClient,
  options: RoundOptions,
  whileRunning: () => void | Promise<void>,
): Promise<RoundResult> {
  let wall = performance.now();
  const started: Started[] = [];
  // Pods already run are stopped and removed even when a later one fails.
  try {
    await pool(options.count, options.concurrency, async (i) => {
      started[i] = await startPod(client, options, i);
    });
  } catch (err) {
    await pool(started.length, options.concurrency, async (i) => {
      const pod = started[i];
      if (!pod) return;
      await client.stopPodSandbox(pod.podId).catch(() => {});
      await client.removePodSandbox(pod.podId).catch(() => {});
    });
    throw err;
  }
  const wallStartMs = performance.now() - wall;
  await whileRunning();
  wall = performance.now();
  const stopMs = await pool(options.count, options.concurrency, (i) =>
    timed(() => client.stopPodSandbox(started[i]!.podId)),
  );
  const wallStopMs = performance.now() - wall;
  wall = performance.now();
  const removeMs = await pool(options.count, options.concurrency, (i) =>
    timed(() => client.removePodSandbox(started[i]!.podId)),
  );
  const wallRemoveMs = performance.now() - wall;
  return {
    pods: started.map((pod, i) => ({
      readyMs: pod.readyMs,
      startMs: pod.startMs,
      stopMs: stopMs[i]!,
      removeMs: removeMs[i]!,
    })),
    wallStartMs,
    wallStopMs,
    wallRemoveMs,
  };
}

/** The p-th percentile (nearest rank) of `values`, rounded to 0.1 ms. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return Math.round(sorted[rank - 1]! * 10) / 10;
}
