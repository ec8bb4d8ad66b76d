/**
 * `npm run bench:cri`: berth's CRI against containerd 1.6's (Debian's
 * `containerd`), in one run, through the same grpc-js CRI client
 * (bench/cri-client.ts). Per runtime: the bench image (a static busybox
 * whose command sleeps; it is also the sandbox image) pulled through the CRI
 * from a local docker-registry, then two rounds of `--count` pods, each with
 * one container of the image, run → ready → running → stopped → removed
 * (bench/cri-pods.ts says what is timed): one pod at a time, then
 * `--concurrency` at a time. Each runtime gets a CNI bridge network of its own
 * (Debian's plugins in /usr/lib/cni) and a cgroup parent of its own. With
 * every pod running: the daemon's RSS, and its shims' RSS and PSS sums
 * (containerd: one shim per pod; berth: one per process, the pause
 * container's and the container's). Afterwards: what each left behind.
 * While berthd has no CreateContainer (UNIMPLEMENTED), its pods run without
 * containers and its figures say so ("containers": false).
 * Last line: one JSON object.
 *
 *   npm run bench:cri [-- --count 20 --concurrency 5 --only berth|containerd]
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../support/busybox.js';
import { startRegistry, type Registry } from '../test/helpers/registry.js';
import { isUnimplemented } from './cri-client.js';
import {
  cgroupDirs,
  mountsUnder,
  pushBenchImage,
  removeCgroupParent,
  sumMemory,
  unmountUnder,
  writeBridgeNetwork,
  type MemorySum,
} from './cri-host.js';
import { percentile, runRound, type RoundResult } from './cri-pods.js';
import { startBerthd, startContainerd, type CriRuntime } from './cri-runtimes.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '5' },
    only: { type: 'string' },
  },
});
const count = Number(values.count);
const concurrency = Number(values.concurrency);
const sides = (values.only ? [values.only] : ['containerd', 'berth']) as ('containerd' | 'berth')[];
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
  throw new Error('--count and --concurrency must be whole numbers, 1 or more');
}

interface Memory {
  daemon: MemorySum;
  shims: MemorySum;
}

interface RoundFigures {
  concurrency: number;
  startP50Ms: number;
  startP99Ms: number;
  readyP50Ms: number;
  readyP99Ms: number;
  stopP50Ms: number;
  removeP50Ms: number;
  /** From the first RunPodSandbox to the last container RUNNING. */
  wallStartMs: number;
  wallStopMs: number;
  wallRemoveMs: number;
  memory: Memory;
}

interface SideFigures {
  runtime: string;
  /** Whether the pods had their container (false: pod sandboxes only). */
  containers: boolean;
  pullMs: number;
  sequential: RoundFigures;
  concurrent: RoundFigures;
  leftBehind: string[];
}

function figures(result: RoundResult, roundConcurrency: number, memory: Memory): RoundFigures {
  const pick = (key: keyof RoundResult['pods'][number]) => result.pods.map((pod) => pod[key]);
  return {
    concurrency: roundConcurrency,
    startP50Ms: percentile(pick('startMs'), 50),
    startP99Ms: percentile(pick('startMs'), 99),
    readyP50Ms: percentile(pick('readyMs'), 50),
    readyP99Ms: percentile(pick('readyMs'), 99),
    stopP50Ms: percentile(pick('stopMs'), 50),
    removeP50Ms: percentile(pick('removeMs'), 50),
    wallStartMs: Math.round(result.wallStartMs),
    wallStopMs: Math.round(result.wallStopMs),
    wallRemoveMs: Math.round(result.wallRemoveMs),
    memory,
  };
}

/** Neither gone nor a zombie (its reaper, tini, may not have got to it yet). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function netnsFiles(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What a runtime left once its pods are removed and it is stopped. */
function leftBehind(
  runtime: CriRuntime,
  shimsBefore: number[],
  cgroupParent: string,
  netnsBefore: string[],
): string[] {
  const left: string[] = [];
  for (const name of netnsFiles(runtime.netnsDir)) {
    if (!netnsBefore.includes(name)) left.push(`netns ${join(runtime.netnsDir, name)}`);
  }
  const shims = shimsBefore.filter(alive);
  if (shims.length) left.push(`shims still running: ${shims.join(' ')}`);
  for (const dir of runtime.dirs) {
    for (const point of mountsUnder(dir)) left.push(`mount ${point}`);
  }
  const cgroups = cgroupDirs(cgroupParent).filter((dir) =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => entry.isDirectory()),
  );
  for (const dir of cgroups) left.push(`cgroup under ${dir}`);
  return left;
}

async function benchSide(
  side: 'containerd' | 'berth',
  base: string,
  registry: Registry,
  image: string,
  thirdOctet: number,
): Promise<SideFigures> {
  const dir = join(base, side);
  const suffix = randomBytes(2).toString('hex');
  const network = writeBridgeNetwork(
    join(dir, 'cni'),
    `bb${side.slice(0, 4)}${suffix}`,
    thirdOctet,
  );
  const cgroupParent = `/berth-bench-${side}-${suffix}`;
  let runtime: CriRuntime | undefined;
  let shimsSeen: number[] = [];
  try {
    runtime =
      side === 'berth'
        ? await startBerthd({
            dir: join(dir, 'runtime'),
            sandboxImage: image,
            cniConfDir: network.confDir,
          })
        : await startContainerd({
            dir: join(dir, 'runtime'),
            sandboxImage: image,
            registryHost: registry.host,
            cniConfDir: network.confDir,
          });
    const active = runtime;
    const netnsBefore = netnsFiles(active.netnsDir);
    const pullStarted = performance.now();
    await active.client.pullImage(image);
    const pullMs = Math.round(performance.now() - pullStarted);
    const memory = (): Memory => {
      const shims = active.shimPids();
      shimsSeen = [...new Set([...shimsSeen, ...shims])];
      return { daemon: sumMemory(active.daemonPids()), shims: sumMemory(shims) };
    };
    const round = async (tag: string, roundConcurrency: number, containers: boolean) => {
      let measured: Memory | undefined;
      const result = await runRound(
        active.client,
        {
          count,
          concurrency: roundConcurrency,
          image,
          containers,
          logRoot: join(dir, 'logs'),
          cgroupParent,
          tag: `${tag}-${suffix}`,
        },
        () => {
          measured = memory();
        },
      );
      return figures(result, roundConcurrency, measured!);
    };
    let containers = true;
    let sequential: RoundFigures;
    try {
      sequential = await round('seq', 1, true);
    } catch (err) {
      if (!isUnimplemented(err)) throw err;
      console.log(`${side}: CreateContainer is UNIMPLEMENTED: pod sandboxes only`);
      containers = false;
      sequential = await round('seq', 1, false);
    }
    const concurrent = await round('conc', concurrency, containers);
    await active.stop();
    // A shim (or berthd's spawner) ends once it sees its daemon gone: a moment's grace.
    for (let i = 0; i < 20 && shimsSeen.some(alive); i++) await sleep(100);
    return {
      runtime: side,
      containers,
      pullMs,
      sequential,
      concurrent,
      leftBehind: leftBehind(active, shimsSeen, cgroupParent, netnsBefore),
    };
  } catch (err) {
    if (runtime) console.error(`${side} log (tail):\n${runtime.log().slice(-4000)}`);
    throw err;
  } finally {
    await runtime?.stop();
    network.remove();
    const stuck = removeCgroupParent(cgroupParent);
    if (stuck.length) console.error(`${side}: cgroups not removed: ${stuck.join(' ')}`);
    unmountUnder(dir);
  }
}

function describe(side: SideFigures): string {
  const round = (name: string, r: RoundFigures) =>
    `  ${name} (${r.concurrency} at a time): pod start p50 ${r.startP50Ms} ms, p99 ${r.startP99Ms} ms ` +
    `(ready p50 ${r.readyP50Ms} ms); stop p50 ${r.stopP50Ms} ms, remove p50 ${r.removeP50Ms} ms; ` +
    `${count} pods up in ${r.wallStartMs} ms, stopped in ${r.wallStopMs} ms, removed in ${r.wallRemoveMs} ms\n` +
    `    with ${count} pods: daemon RSS ${r.memory.daemon.rssMb} MB (${r.memory.daemon.count} processes), ` +
    `${r.memory.shims.count} shims RSS ${r.memory.shims.rssMb} MB, PSS ${r.memory.shims.pssMb} MB`;
  return [
    `${side.runtime}${side.containers ? '' : ' (POD SANDBOXES ONLY: no CreateContainer yet)'}: pull ${side.pullMs} ms`,
    round('sequential', side.sequential),
    round('concurrent', side.concurrent),
    `  left behind: ${side.leftBehind.length ? side.leftBehind.join('; ') : 'nothing'}`,
  ].join('\n');
}

const base = tempDir('berth-bench-cri-');
const registry = await startRegistry();
const results: SideFigures[] = [];
try {
  const image = await pushBenchImage(join(base, 'layout'), registry);
  const octet = randomBytes(1)[0]! & 0xfe;
  for (const [i, side] of sides.entries()) {
    results.push(await benchSide(side, base, registry, image, octet + i));
    console.log(describe(results.at(-1)!));
  }
} finally {
  await registry.stop();
  unmountUnder(base);
  rmSync(base, { recursive: true, force: true });
}

const berth = results.find((r) => r.runtime === 'berth');
const containerd = results.find((r) => r.runtime === 'containerd');
console.log(
  JSON.stringify({
    count,
    concurrency,
    berthContainers: berth?.containers,
    berthStartP50Ms: berth?.sequential.startP50Ms,
    berthStartP99Ms: berth?.sequential.startP99Ms,
    containerdStartP50Ms: containerd?.sequential.startP50Ms,
    containerdStartP99Ms: containerd?.sequential.startP99Ms,
    containerdReadyP50Ms: containerd?.sequential.readyP50Ms,
    berthdRssMb: berth?.sequential.memory.daemon.rssMb,
    containerdRssMb: containerd?.sequential.memory.daemon.rssMb,
    berthShimsRssMb: berth?.sequential.memory.shims.rssMb,
    containerdShimsRssMb: containerd?.sequential.memory.shims.rssMb,
    results,
  }),
);
