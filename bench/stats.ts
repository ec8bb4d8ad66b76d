/**
 * Stats of 1, 10 and 100 running containers: berth reads the cgroup files
 * directly; the alternative (containerd v0.2.8's way) runs `runc events
 * --stats` once per container. Both in one run, on the same containers.
 * Last line: one JSON object.
 *
 *   npm run bench:stats [-- --rounds N]
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { Container } from '../src/index.js';
import { tempDir, writeBundle } from '../support/busybox.js';

const execFileAsync = promisify(execFile);
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const rounds = Number(values.rounds);
/** runc gets as many processes in flight as the machine has cores, its best case. */
const RUNTIME_CONCURRENCY = 2;

const base = tempDir('berth-bench-stats-');
const root = join(base, 'state');
const bundle = writeBundle(join(base, 'bundle'), { args: ['sleep', '100000'] });
const containers: Container[] = [];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function grow(count: number): Promise<void> {
  while (containers.length < count) {
    const container = await Container.create({
      root,
      id: `stats-${process.pid}-${containers.length}`,
      bundle,
    });
    const init = await container.start();
    await init.start();
    containers.push(container);
  }
}

async function berthRound(targets: Container[]): Promise<number> {
  const started = performance.now();
  for (const container of targets) await container.stats();
  return performance.now() - started;
}

async function runtimeRound(targets: Container[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const container = targets[next++]!;
      await execFileAsync('runc', [...container.runtimeArgs, 'events', '--stats', container.id]);
    }
  };
  await Promise.all(Array.from({ length: RUNTIME_CONCURRENCY }, worker));
  return performance.now() - started;
}

const results: Array<{ count: number; berthMs: number; runtimeMs: number }> = [];
try {
  for (const count of [1, 10, 100]) {
    await grow(count);
    const targets = containers.slice(0, count);
    await berthRound(targets);
    const berth: number[] = [];
    const runtime: number[] = [];
    for (let round = 0; round < rounds; round++) {
      berth.push(await berthRound(targets));
      runtime.push(await runtimeRound(targets));
    }
    results.push({ count, berthMs: median(berth), runtimeMs: median(runtime) });
  }
} finally {
  for (const container of containers) await container.delete({ force: true }).catch(() => {});
  rmSync(base, { recursive: true, force: true });
}

console.log('containers  berth (cgroup files)  runc events --stats  speedup');
for (const { count, berthMs, runtimeMs } of results) {
  console.log(
    `${String(count).padStart(10)}  ${`${berthMs.toFixed(2)} ms`.padStart(20)}  ${`${runtimeMs.toFixed(1)} ms`.padStart(19)}  ${(runtimeMs / berthMs).toFixed(1).padStart(6)}×`,
  );
}
const hundred = results.find((r) => r.count === 100)!;
console.log(
  `(median of ${rounds} rounds; runc with ${RUNTIME_CONCURRENCY} processes in flight; target: 100 in < 50 ms, ≥ 20× faster)`,
);
console.log(
  JSON.stringify({
    stats1Ms: Number(results[0]!.berthMs.toFixed(3)),
    stats10Ms: Number(results[1]!.berthMs.toFixed(3)),
    stats100Ms: Number(hundred.berthMs.toFixed(3)),
    runtime1Ms: Number(results[0]!.runtimeMs.toFixed(1)),
    runtime10Ms: Number(results[1]!.runtimeMs.toFixed(1)),
    runtime100Ms: Number(hundred.runtimeMs.toFixed(1)),
    speedup: Number((hundred.runtimeMs / hundred.berthMs).toFixed(1)),
    rounds,
  }),
);
