/**
 * containerd v0.2.8's own benchmark shape: 100 CreateContainer calls of a
 * busybox `true` in flight at once through berthd's gRPC API, timed until all
 * 100 `exit` events have arrived; beside it, in the same run, 100 concurrent
 * `runc run` of the same bundle (the physical limit of this machine).
 * Last line: JSON {perSecond, runcPerSecond, ratio}.
 *
 *   npm run bench:throughput [-- --count 100 --rounds 3]
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateContainerRequest, EventsRequest } from '../src/api/generated/berth.js';
import { tempDir, writeBundle } from '../support/busybox.js';
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

async function berthRound(daemon: Awaited<ReturnType<typeof startDaemon>>): Promise<number> {
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
  stop();
  return count / (elapsed / 1000);
}

async function runcRound(): Promise<number> {
  const prefix = `tp-runc-${process.pid}-${++round}-`;
  const runtimeRoot = join(base, 'runc-root');
  const started = performance.now();
  await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(
            'runc',
            ['--root', runtimeRoot, 'run', '--bundle', bundle, `${prefix}${i}`],
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

const daemon = await startDaemon(join(base, 'state'), join(base, 'berthd.sock'));
try {
  await berthRound(daemon); // warm-up
  const berth: number[] = [];
  const runc: number[] = [];
  for (let i = 0; i < rounds; i++) {
    berth.push(await berthRound(daemon));
    runc.push(await runcRound());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const perSecond = median(berth);
  const runcPerSecond = median(runc);
  console.log(`containers in flight: ${count}, rounds: ${rounds}`);
  console.log(
    `berthd CreateContainer → exit event: ${perSecond.toFixed(1)} containers/s (${berth.map((x) => x.toFixed(1)).join(', ')})`,
  );
  console.log(
    `runc run:                              ${runcPerSecond.toFixed(1)} containers/s (${runc.map((x) => x.toFixed(1)).join(', ')})`,
  );
  console.log(`ratio (target ≥ 0.8): ${(perSecond / runcPerSecond).toFixed(2)}`);
  console.log(
    JSON.stringify({
      perSecond: Number(perSecond.toFixed(1)),
      runcPerSecond: Number(runcPerSecond.toFixed(1)),
      ratio: Number((perSecond / runcPerSecond).toFixed(3)),
    }),
  );
} finally {
  await daemon.stop();
  rmSync(base, { recursive: true, force: true });
}
