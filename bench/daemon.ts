/**
 * berthd's footprint and its recovery: RSS idle and with 100 sleeping
 * containers; then kill -9 with the 100 running, and the time from starting a
 * new berthd to State listing all 100.
 * Last line: JSON {idleRssMb, rss100Mb, anon100Mb, file100Mb, recoveryMs}.
 *
 *   npm run bench:daemon [-- --count 100]
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateContainerRequest,
  EventsRequest,
  SignalRequest,
  StateRequest,
  type StateResponse,
} from '../src/api/generated/berth.js';
import { tempDir, writeBundle } from '../support/busybox.js';
import { startDaemon, type Daemon } from './daemon-client.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100' } } });
const count = Number(values.count);

const base = tempDir('berth-daemon-bench-');
const stateDir = join(base, 'state');
const socket = join(base, 'berthd.sock');
const bundle = writeBundle(join(base, 'bundle'), { args: ['sleep', '1000'] });

/** A field of /proc/PID/status in MB: VmRSS, or its parts RssAnon and RssFile. */
function statusMb(pid: number, field: 'VmRSS' | 'RssAnon' | 'RssFile'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

function rssMb(pid: number): number {
  return statusMb(pid, 'VmRSS');
}

let daemon: Daemon = await startDaemon(stateDir, socket).catch((err: unknown) => {
  // A berthd that cannot start leaves no temporary folder behind either.
  rmSync(base, { recursive: true, force: true });
  throw err;
});
try {
  await sleep(1000);
  const idleRssMb = rssMb(daemon.process.pid!);
  for (let i = 0; i < count; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, (_, j) =>
        daemon.call(
          'createContainer',
          CreateContainerRequest.fromPartial({ id: `sleeper-${i + j}`, bundlePath: bundle }),
        ),
      ),
    );
  }
  await daemon.call('state', StateRequest.fromPartial({}));
  await sleep(1000);
  const rss100Mb = rssMb(daemon.process.pid!);
  // Most of it is the node binary's pages (RssFile), shared with every node process.
  const anon100Mb = statusMb(daemon.process.pid!, 'RssAnon');
  const file100Mb = statusMb(daemon.process.pid!, 'RssFile');

  await daemon.stop('SIGKILL');
  const restarted = performance.now();
  daemon = await startDaemon(stateDir, socket);
  let listed = 0;
  while (listed < count) {
    const state = await daemon.call<StateResponse>('state', StateRequest.fromPartial({}));
    listed = state.containers.filter((c) => c.status === 'running').length;
    if (performance.now() - restarted > 30_000) throw new Error(`only ${listed} listed`);
  }
  const recoveryMs = performance.now() - restarted;

  console.log(`berthd RSS idle:                 ${idleRssMb.toFixed(1)} MB`);
  console.log(
    `berthd RSS, ${count} sleeping containers: ${rss100Mb.toFixed(1)} MB (target ≤ 60 MB; ${anon100Mb.toFixed(1)} MB anonymous, ${file100Mb.toFixed(1)} MB file pages)`,
  );
  console.log(
    `kill -9, restart → State lists all ${count}: ${recoveryMs.toFixed(0)} ms (target < 1000 ms)`,
  );
  console.log(
    JSON.stringify({
      idleRssMb: Number(idleRssMb.toFixed(1)),
      rss100Mb: Number(rss100Mb.toFixed(1)),
      anon100Mb: Number(anon100Mb.toFixed(1)),
      file100Mb: Number(file100Mb.toFixed(1)),
      recoveryMs: Math.round(recoveryMs),
      containers: count,
    }),
  );
} finally {
  // Stop every sleeper through the daemon and wait for their exits, then the daemon.
  const exits = new Set<string>();
  let done!: () => void;
  const allGone = new Promise<void>((resolve) => (done = resolve));
  const stop = daemon.events(EventsRequest.fromPartial({}), (event) => {
    if (event.type === 'exit' && event.pid === 'init') exits.add(event.id);
    if (exits.size >= count) done();
  });
  for (let i = 0; i < count; i++)
    await daemon
      .call('signal', SignalRequest.fromPartial({ id: `sleeper-${i}`, pid: 'init', signal: 9 }))
      .catch(() => exits.add(`sleeper-${i}`));
  if (exits.size >= count) done();
  await Promise.race([allGone, sleep(30_000)]);
  stop();
  await daemon.stop();
  rmSync(base, { recursive: true, force: true });
}
