/**
 * C concurrent clients, each on its own connection, mixing every RPC for T
 * seconds against a real berthd, each with a long-running container of its
 * own: create, exec, signal, pause/resume, update, stats, state,
 * updateProcess, checkpoint list, version, events subscribe+cancel, and at
 * the end delete by kill. No call that should succeed fails, no stream gets
 * stuck; p50/p99 latency per RPC printed.
 * CI: C=50, T=10 s; BERTH_LOAD_CLIENTS and BERTH_LOAD_SECONDS for the soak.
 *
 * Each client picks its RPCs from a generator of its own, seeded from the
 * file's seed, printed first. To replay a failure, run this file again with
 * BERTH_TEST_SEED set to it (and the same clients and seconds):
 *   BERTH_TEST_SEED=<seed> tini -s -g -- node --test --test-concurrency=1 dist/test/integration/load-clients.test.js
 * Every client then makes the same choices in the same order; how many it
 * gets through in the time, and how they interleave, still depend on the load.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceError } from '@grpc/grpc-js';
import { UpdateResource } from '../../src/api/generated/berth.js';
import { connect, type TestClient } from '../helpers/api-client.js';
import { processesUnder, runtimeIds } from '../helpers/env.js';
import {
  createRequest,
  execRequest,
  harness,
  percentile,
  recordEvents,
  waitFor,
} from '../helpers/berthd-load.js';
import { replayHint, seededRandom, streamSeed, testSeed } from '../helpers/seeded-random.js';

const CLIENTS = Number(process.env.BERTH_LOAD_CLIENTS ?? 50);
const SECONDS = Number(process.env.BERTH_LOAD_SECONDS ?? 10);
const SEED = testSeed();
console.log(
  `# load-clients seed ${SEED}; replay: ${replayHint(SEED, 'dist/test/integration/load-clients.test.js')}`,
);
const h = harness('load-clients');
after(() => h.cleanup());

test(`${CLIENTS} clients mixing every RPC for ${SECONDS} s`, { timeout: 3_600_000 }, async () => {
  const daemon = await h.start(['--retain-count', '100000']);
  const latencies = new Map<string, number[]>();
  const failures: string[] = [];
  const timed = async <T>(name: string, call: () => Promise<T>): Promise<T | undefined> => {
    const t0 = performance.now();
    try {
      const result = await call();
      const list = latencies.get(name) ?? [];
      list.push(performance.now() - t0);
      latencies.set(name, list);
      return result;
    } catch (err) {
      const e = err as ServiceError;
      failures.push(`${name}: ${e.code} ${e.details ?? e.message}`);
      return undefined;
    }
  };
  const bundlePath = h.bundle({ args: ['sleep', '100000'] });
  const prefix = `lcl${process.pid}c`;
  const deadline = Date.now() + SECONDS * 1000;

  const runClient = async (n: number) => {
    const client: TestClient = connect(daemon.address, { ownConnection: true });
    const id = `${prefix}${n}`;
    const random = seededRandom(streamSeed(SEED, n));
    try {
      // Stagger the creates a little: 2 cores.
      await sleep(n * 20);
      await timed('CreateContainer', () => client.createContainer(createRequest(id, bundlePath)));
      let execs = 0;
      while (Date.now() < deadline) {
        switch (Math.floor(random() * 11)) {
          case 0: {
            const pid = `e${++execs}`;
            await timed('AddProcess', () =>
              client.addProcess(execRequest(id, pid, ['sh', '-c', 'exit 3'])),
            );
            break;
          }
          case 1:
            await timed('Signal', () => client.signal({ id, pid: 'init', signal: 18 }));
            break;
          case 2:
            await timed('UpdateContainer(pause)', () =>
              client.updateContainer({ id, pid: '', status: 'paused', resources: undefined }),
            );
            await timed('UpdateContainer(resume)', () =>
              client.updateContainer({ id, pid: '', status: 'running', resources: undefined }),
            );
            break;
          case 3:
            await timed('UpdateContainer(resources)', () =>
              client.updateContainer({
                id,
                pid: '',
                status: '',
                resources: UpdateResource.fromPartial({ cpuShares: 512n + BigInt(n) }),
              }),
            );
            break;
          case 4:
            await timed('Stats', () => client.stats({ id }));
            break;
          case 5:
            await timed('State', () => client.state({ id }));
            break;
          case 6:
            await timed('State(all)', () => client.state({ id: '' }));
            break;
          case 7:
            await timed('UpdateProcess', () =>
              client.updateProcess({ id, pid: 'init', closeStdin: true, width: 0, height: 0 }),
            );
            break;
          case 8:
            await timed('ListCheckpoint', () => client.listCheckpoint({ id, checkpointDir: '' }));
            break;
          case 9:
            await timed('GetServerVersion', () => client.getServerVersion({}));
            break;
          case 10: {
            const t0 = performance.now();
            const sub = recordEvents(
              client.raw.events({ timestamp: undefined, storedOnly: false, id }),
            );
            try {
              await waitFor(() => sub.seen.some((e) => e.type === 'live'), 'live', 20_000);
              const list = latencies.get('Events(live)') ?? [];
              list.push(performance.now() - t0);
              latencies.set('Events(live)', list);
            } catch {
              failures.push(`Events: stuck, no live marker (${JSON.stringify(sub.status)})`);
            }
            sub.cancel();
            break;
          }
        }
      }
      // Delete by kill: init's exit comes and berthd removes the container.
      const sub = recordEvents(client.raw.events({ timestamp: undefined, storedOnly: false, id }));
      await waitFor(() => sub.seen.some((e) => e.type === 'live'), 'live', 20_000);
      await timed('Signal(KILL)', () => client.signal({ id, pid: 'init', signal: 9 }));
      try {
        await waitFor(
          () => sub.seen.some((e) => e.type === 'exit' && e.pid === 'init'),
          `exit of ${id}`,
          30_000,
        );
      } catch {
        failures.push(`${id}: no init exit after SIGKILL`);
      }
      sub.cancel();
    } finally {
      client.close();
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CLIENTS }, (_, n) => runClient(n)));
  const elapsed = Date.now() - started;
  const control = connect(daemon.address);
  await waitFor(
    async () => (await control.state({ id: '' })).containers.length === 0,
    'all gone',
    30_000,
  );
  control.close();

  let total = 0;
  for (const [name, list] of [...latencies].sort()) {
    list.sort((a, b) => a - b);
    total += list.length;
    console.log(
      `# load-clients ${name}: n=${list.length} p50=${percentile(list, 50).toFixed(1)} ms p99=${percentile(list, 99).toFixed(1)} ms max=${list.at(-1)!.toFixed(1)} ms`,
    );
  }
  console.log(
    `# load-clients (seed ${SEED}): ${CLIENTS} clients, ${total} calls in ${elapsed} ms, ${failures.length} failures`,
  );
  assert.deepEqual(failures, [], `no call that should succeed failed (seed ${SEED})`);
  await sleep(500);
  assert.deepEqual(runtimeIds(h.stateDir), [], 'runtime state left');
  assert.deepEqual(processesUnder(h.stateDir), [], 'processes left');
});
