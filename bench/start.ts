/**
 * Start latency and footprint, side by side in one run on one busybox bundle
 * running `true`: berth's create → start → exit status known (one-call
 * `run()`, and two-phase `start()` + `process.start()`), against `runc run`. Then the RSS of an idle shim and the processes a
 * running container costs. Last line: one JSON object.
 *
 *   npm run bench:start [-- --iterations N]
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Container, defaultShimPath } from '../src/index.js';
import { tempDir, writeBundle } from '../support/busybox.js';
import { processesUnder } from '../support/processes.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '40' } } });
const iterations = Number(values.iterations);

const base = tempDir('berth-bench-');
const root = join(base, 'state');
const bundle = writeBundle(join(base, 'bundle'), { args: ['true'] });
let sequence = 0;

/** Two-phase (`start()` then `process.start()`), or one call (`run()`). */
async function berthOnce(twoPhase: boolean): Promise<number> {
  const id = `bench-${process.pid}-${++sequence}`;
  const started = performance.now();
  const container = await Container.create({ root, id, bundle });
  let init;
  if (twoPhase) {
    init = await container.start();
    await init.start();
  } else {
    init = await container.run();
  }
  const status = await init.wait();
  const elapsed = performance.now() - started;
  if (status !== 0) throw new Error(`container exited with ${status}`);
  await container.delete();
  return elapsed;
}

function runcOnce(): Promise<number> {
  const id = `bench-runc-${process.pid}-${++sequence}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('runc', ['run', '--bundle', bundle, id], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => {
      const elapsed = performance.now() - started;
      if (code !== 0) reject(new Error(`runc run exited with ${code}`));
      else resolve(elapsed);
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN);
}

try {
  for (let i = 0; i < 3; i++) {
    await berthOnce(false);
    await berthOnce(true);
    await runcOnce();
  }
  const berth: number[] = [];
  const berthTwoPhase: number[] = [];
  const runc: number[] = [];
  // Interleaved so that machine noise hits every side alike.
  for (let i = 0; i < iterations; i++) {
    berth.push(await berthOnce(false));
    berthTwoPhase.push(await berthOnce(true));
    runc.push(await runcOnce());
  }

  const idleBundle = writeBundle(join(base, 'idle'), { args: ['sleep', '1000'] });
  const idle = await Container.create({
    root,
    id: `bench-idle-${process.pid}`,
    bundle: idleBundle,
  });
  const init = await idle.start();
  await init.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const shims = processesUnder(init.dir);
  const shimRssKb = rssKb(shims[0]!);
  const containerPids = await idle.pids();
  const processesPerContainer = shims.length + containerPids.length;
  await idle.delete({ force: true });

  // `berth-shim 0.1.0 (musl)`: which libc the shim was linked with.
  const shimVersion = execFileSync(defaultShimPath(), ['--version'], { encoding: 'utf8' }).trim();
  const shimLibc = /\((\w+)\)/.exec(shimVersion)?.[1] ?? 'unknown';
  const libraryMs = median(berth);
  const twoPhaseMs = median(berthTwoPhase);
  const runcMs = median(runc);
  const ratio = libraryMs / runcMs;
  const rows: Array<[string, string]> = [
    ['iterations', String(iterations)],
    ['berth create→run()→exit status, median', `${libraryMs.toFixed(1)} ms`],
    ['berth create→start()→process.start()→exit status', `${twoPhaseMs.toFixed(1)} ms`],
    ['runc run, median', `${runcMs.toFixed(1)} ms`],
    ['ratio run() / runc run (target ≤ 1.3)', ratio.toFixed(2)],
    ['ratio two-phase / runc run', (twoPhaseMs / runcMs).toFixed(2)],
    [
      'berth run() min / max',
      `${Math.min(...berth).toFixed(1)} / ${Math.max(...berth).toFixed(1)} ms`,
    ],
    ['runc run min / max', `${Math.min(...runc).toFixed(1)} / ${Math.max(...runc).toFixed(1)} ms`],
    ['idle shim RSS (target ≤ 200 kB)', `${shimRssKb} kB`],
    ['shim libc', shimLibc],
    ['processes per running container', `${processesPerContainer} (shim + container's own)`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
  console.log(
    JSON.stringify({
      libraryMs: Number(libraryMs.toFixed(2)),
      runcMs: Number(runcMs.toFixed(2)),
      ratio: Number(ratio.toFixed(3)),
      twoPhaseMs: Number(twoPhaseMs.toFixed(2)),
      twoPhaseRatio: Number((twoPhaseMs / runcMs).toFixed(3)),
      shimRssKb,
      shimLibc,
      processesPerContainer,
      iterations,
    }),
  );
} finally {
  rmSync(base, { recursive: true, force: true });
}
