/**
 * containerd v0.2.8's own benchmark shape: 100 CreateContainer calls of a
 * busybox `true` in flight at once through berthd's gRPC API, timed until all
 * 100 `exit` events have arrived; beside it, in the same run, 100 concurrent
 * `runc run` of the same bundle (the physical limit of this machine).
 *
 * How a cycle counts: berthd sends a container's `exit` event only once the
 * container is deleted (as v0.2.8 did), so the time includes the runtime's
 * delete: the init's shim runs it right after the process exits and reports
 * it, and berthd waits for that shim before it removes the rest and sends the
 * event. A round also checks that no state folder and no runtime state of its
 * containers is left. `runc run` deletes its container before it exits too.
 *
 * Also reported, as the other load on a shared machine barely moves them:
 * berthd's own CPU time per container (user + system, all its threads, from
 * /proc), and the CPU time per container of everything berth runs outside the
 * containers (berthd, the spawner, the shims, the runtime's own processes:
 * `runc run` and any `runc delete`), from a cpuacct cgroup that berthd is
 * started in (cgroup v1; null elsewhere).
 * Last line: JSON {perSecond, runcPerSecond, ratio, berthdCpuMsPerContainer,
 * hostCpuMsPerContainer}.
 *
 *   npm run bench:throughput [-- --count 100 --rounds 3]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CreateContainerRequest, EventsRequest } from '../src/api/generated/berth.js';
import { tempDir, writeBundle } from '../support/busybox.js';
import { withCpuCgroup } from './cpu-cgroup.js';
import { startDaemon } from './daemon-client.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
});
const count = Number(values.count);
const rounds = Number(values.rounds);

const base = tempDir('berth-throughput-');
const bundle = writeBundle(join(base, 'bundle'), { args: ['true'] });
let round = 0;
const stateDir = join(base, 'state');
const runtimeRoot = join(stateDir, '.runtime', 'runc');

/** CPU time of a process and all its threads so far, in ms (utime + stime of /proc/PID/stat). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5), counted from the state (field 3).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Until no shim of the round's containers is left: each exits shortly after
 * its container's exit event (berthd waits for the init's shim, not for an
 * exec's), and its CPU counts for the round.
 */
async function waitForShims(prefix: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!shimsOf(prefix)) return;
    await sleep(10);
  }
}

function shimsOf(prefix: string): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes('berth-shim') && cmdline.includes(`\0${prefix}`)) return true;
  }
  return false;
}

/** Nothing of a round's containers may be left: no state folder, no runtime state. */
function assertNothingLeft(prefix: string): void {
  for (const dir of [stateDir, runtimeRoot]) {
    if (!existsSync(dir)) continue;
    const left = readdirSync(dir).filter((name) => name.startsWith(prefix));
    if (left.length) throw new Error(`left behind in ${dir}: ${left.join(', ')}`);
  }
}

interface BerthRound {
  perSecond: number;
  cpuMsPerContainer: number;
  hostCpuMsPerContainer: number | undefined;
}

async function berthRound(daemon: Awaited<ReturnType<typeof startDaemon>>): Promise<BerthRound> {
  const prefix = `tp-${process.pid}-${++round}-`;
  const exited = new Set<string>();
  let done!: () => void;
  const allExited = new Promise<void>((resolve) => (done = resolve));
  const stop = daemon.events(EventsRequest.fromPartial({}), (event) => {
    if (event.type !== 'exit' || event.pid !== 'init' || !event.id.startsWith(prefix)) return;
    if (event.status !== 0) throw new Error(`${event.id} exited with ${event.status}`);
    exited.add(event.id);
    if (exited.size === count) done();
  });
  const cpuBefore = cpuMs(daemon.process.pid!);
  const hostBefore = cpuCgroup?.usedMs();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      daemon.call(
        'createContainer',
        CreateContainerRequest.fromPartial({ id: `${prefix}${i}`, bundlePath: bundle }),
      ),
    ),
  );
  await allExited;
  const elapsed = performance.now() - started;
  const cpu = cpuMs(daemon.process.pid!) - cpuBefore;
  // The shims' ends (after the exit events) belong to this round too.
  if (cpuCgroup) await waitForShims(prefix);
  const host = hostBefore === undefined ? undefined : cpuCgroup!.usedMs() - hostBefore;
  stop();
  assertNothingLeft(prefix);
  return {
    perSecond: count / (elapsed / 1000),
    cpuMsPerContainer: cpu / count,
    hostCpuMsPerContainer: host === undefined ? undefined : host / count,
  };
}

async function runcRound(): Promise<number> {
  const prefix = `tp-runc-${process.pid}-${++round}-`;
  const runcRoot = join(base, 'runc-root');
  const started = performance.now();
  await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(
            'runc',
            ['--root', runcRoot, 'run', '--bundle', bundle, `${prefix}${i}`],
            {
              stdio: 'ignore',
            },
          );
          child.on('error', reject);
          child.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`runc run: ${code}`)),
          );
        }),
    ),
  );
  return count / ((performance.now() - started) / 1000);
}

const { started: daemon, cgroup: cpuCgroup } = await withCpuCgroup(
  `berth-throughput-${process.pid}`,
  () => startDaemon(stateDir, join(base, 'berthd.sock')),
).catch((err: unknown) => {
  // A berthd that cannot start leaves no temporary folder behind either.
  rmSync(base, { recursive: true, force: true });
  throw err;
});
try {
  await berthRound(daemon); // warm-up
  const berth: number[] = [];
  const berthCpu: number[] = [];
  const hostCpu: number[] = [];
  const runc: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const measured = await berthRound(daemon);
    berth.push(measured.perSecond);
    berthCpu.push(measured.cpuMsPerContainer);
    if (measured.hostCpuMsPerContainer !== undefined) hostCpu.push(measured.hostCpuMsPerContainer);
    runc.push(await runcRound());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const perSecond = median(berth);
  const runcPerSecond = median(runc);
  const cpuPerContainer = median(berthCpu);
  const hostPerContainer = hostCpu.length ? median(hostCpu) : undefined;
  console.log(`containers in flight: ${count}, rounds: ${rounds}`);
  console.log(
    `berthd CreateContainer → exit event: ${perSecond.toFixed(1)} containers/s (${berth.map((x) => x.toFixed(1)).join(', ')})`,
  );
  console.log(
    `runc run:                              ${runcPerSecond.toFixed(1)} containers/s (${runc.map((x) => x.toFixed(1)).join(', ')})`,
  );
  console.log(
    `berthd CPU per container:              ${cpuPerContainer.toFixed(1)} ms (${berthCpu.map((x) => x.toFixed(1)).join(', ')})`,
  );
  if (hostPerContainer !== undefined)
    console.log(
      `berth's host-side CPU per container:   ${hostPerContainer.toFixed(1)} ms (${hostCpu.map((x) => x.toFixed(1)).join(', ')})`,
    );
  console.log(`ratio (target ≥ 0.8): ${(perSecond / runcPerSecond).toFixed(2)}`);
  console.log(
    JSON.stringify({
      perSecond: Number(perSecond.toFixed(1)),
      runcPerSecond: Number(runcPerSecond.toFixed(1)),
      ratio: Number((perSecond / runcPerSecond).toFixed(3)),
      berthdCpuMsPerContainer: Number(cpuPerContainer.toFixed(1)),
      hostCpuMsPerContainer:
        hostPerContainer === undefined ? null : Number(hostPerContainer.toFixed(1)),
    }),
  );
} finally {
  await daemon.stop();
  rmSync(base, { recursive: true, force: true });
  await cpuCgroup?.remove();
}
