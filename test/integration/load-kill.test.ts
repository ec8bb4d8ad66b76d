/**
 * berthd killed with SIGKILL at a random moment while K containers created
 * through its gRPC API (`sh -c 'sleep X; exit N'`, some with an exec too) are
 * starting and exiting; restarted on the same state dir. Every container
 * whose CreateContainer answered gets exactly one init `exit` with its own
 * status (Events replayed from timestamp 0, and resumed from the last event
 * seen before the kill without a gap or a repeat); one whose create was cut
 * off either got the same or never existed; State empties; nothing is left.
 * CI: K=30, 2 rounds; BERTH_LOAD_KILL_ROUNDS and BERTH_LOAD_KILL_CONTAINERS for the soak.
 *
 * The random choices (each container's sleep and start delay, the moment of
 * the kill) come from a seeded generator, one per round. The seed is printed
 * first; to replay a failure, run this file again with BERTH_TEST_SEED set to
 * it (and the same rounds and containers):
 *   BERTH_TEST_SEED=<seed> tini -s -g -- node --test --test-concurrency=1 dist/test/integration/load-kill.test.js
 * The choices are the same; how far the containers got when the kill lands
 * still depends on the machine's load.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Event } from '../../src/api/generated/berth.js';
import { connect } from '../helpers/api-client.js';
import { processesUnder, runtimeIds } from '../helpers/env.js';
import {
  createRequest,
  execRequest,
  harness,
  ns,
  recordEvents,
  waitFor,
} from '../helpers/berthd-load.js';
import { replayHint, seededRandom, streamSeed, testSeed } from '../helpers/seeded-random.js';

const ROUNDS = Number(process.env.BERTH_LOAD_KILL_ROUNDS ?? 2);
const K = Number(process.env.BERTH_LOAD_KILL_CONTAINERS ?? 30);
const SEED = testSeed();
console.log(
  `# load-kill seed ${SEED}; replay: ${replayHint(SEED, 'dist/test/integration/load-kill.test.js')}`,
);
const h = harness('load-kill');
after(() => h.cleanup());

const ts = (n: bigint) => ({ seconds: n / 1_000_000_000n, nanos: Number(n % 1_000_000_000n) });
const initExits = (list: Event[], id: string) =>
  list.filter((e) => e.type === 'exit' && e.id === id && e.pid === 'init');

for (let round = 1; round <= ROUNDS; round++) {
  test(`round ${round}: ${K} containers, berthd kill -9 mid-flight, restart: every exit once`, async () => {
    const random = seededRandom(streamSeed(SEED, round));
    const flags = ['--retain-count', '100000'];
    let daemon = await h.start(flags);
    let client = connect(daemon.address);
    const early = recordEvents(
      client.raw.events({ timestamp: undefined, storedOnly: false, id: '' }),
    );
    await waitFor(() => early.seen.some((e) => e.type === 'live'), 'live marker');

    const expected = new Map<string, number>();
    const confirmed = new Set<string>();
    const creates: Promise<void>[] = [];
    for (let i = 0; i < K; i++) {
      const id = `lk${process.pid}r${round}c${i}`;
      const status = (i % 120) + 1;
      expected.set(id, status);
      const delay = (random() * 3).toFixed(2);
      const bundlePath = h.bundle({ args: ['sh', '-c', `sleep ${delay}; exit ${status}`] });
      const startAfter = random() * 2500;
      creates.push(
        (async () => {
          await sleep(startAfter);
          await client.createContainer(createRequest(id, bundlePath));
          confirmed.add(id);
          if (i % 4 === 0)
            await client
              .addProcess(execRequest(id, 'x', ['sh', '-c', 'sleep 0.3; exit 7']))
              .catch(() => {});
        })().catch(() => {}),
      );
    }
    const killAt = 300 + random() * 2500;
    await sleep(killAt);
    process.kill(daemon.pid, 'SIGKILL');
    await daemon.exited;
    await Promise.all(creates);
    early.cancel();
    client.close();
    const seenBefore = [...early.seen];
    const lastBefore = seenBefore.reduce((m, e) => (ns(e) > m ? ns(e) : m), 0n);

    daemon = await h.start(flags);
    let stoppedAtRestart = 0;
    try {
      client = connect(daemon.address);
      // State right after the restart: only containers of this round, each running its init.
      const recovered = await client.state({ id: '' });
      for (const c of recovered.containers) {
        assert.ok(expected.has(c.id), `phantom ${c.id}`);
        // Running with its init, or stopped: init exited while berthd was down (its exit follows).
        const init = c.processes.some((p) => p.pid === 'init');
        assert.ok(
          init || (c.status === 'stopped' && c.processes.length === 0),
          `${c.id}: ${c.status} ${c.processes.length} processes`,
        );
        if (!init) stoppedAtRestart++;
      }
      const fromZero = recordEvents(
        client.raw.events({ timestamp: ts(0n), storedOnly: false, id: '' }),
      );
      const resumed = recordEvents(
        client.raw.events({ timestamp: ts(lastBefore), storedOnly: false, id: '' }),
      );
      await waitFor(
        () => [...confirmed].every((id) => initExits(fromZero.seen, id).length > 0),
        'every confirmed container’s exit',
        30_000,
      );
      await waitFor(
        async () => (await client.state({ id: '' })).containers.length === 0,
        'State empty',
        20_000,
      );
      await sleep(300);
      fromZero.cancel();
      resumed.cancel();
      const state = await client.state({ id: '' });
      client.close();

      const combined = [...seenBefore.filter((e) => e.type !== 'live'), ...resumed.seen];
      let cutOff = 0;
      const execStatuses: number[] = [];
      for (const [id, status] of expected) {
        const exits = initExits(fromZero.seen, id);
        if (!confirmed.has(id) && exits.length === 0) {
          cutOff++;
          continue;
        }
        assert.equal(exits.length, 1, `${id}: one exit from timestamp 0`);
        assert.equal(exits[0]!.status, status, `${id}: its status`);
        assert.equal(initExits(combined, id).length, 1, `${id}: one exit before + resumed`);
        const execExits = fromZero.seen.filter(
          (e) => e.type === 'exit' && e.id === id && e.pid === 'x',
        );
        // At most one; 7 unless init's exit took it down first (killed with the namespace).
        assert.ok(
          execExits.length <= 1,
          `${id}: exec exits ${execExits.map((e) => `${e.status}@${ns(e)}`).join(' ')}`,
        );
        execStatuses.push(...execExits.map((e) => e.status));
      }
      // Resumed + before: no repeats at all.
      const keys = combined.map((e) => `${e.type}:${e.id}:${e.pid}:${ns(e)}`);
      assert.equal(new Set(keys).size, keys.length, 'no event repeated across the kill');
      assert.deepEqual(state.containers, [], 'State empty');
      assert.deepEqual(runtimeIds(h.stateDir), [], 'runtime state left');
      assert.deepEqual(processesUnder(h.stateDir), [], 'processes left');
      console.log(
        `# load-kill round ${round} (seed ${SEED}): killed at ${killAt.toFixed(0)} ms; ${confirmed.size}/${K} creates answered, ${cutOff} cut off and never existed; ${seenBefore.length} events before the kill, ${fromZero.seen.length} replayed from 0; ${recovered.containers.length} recovered (${stoppedAtRestart} of them stopped, exit pending); exec statuses ${JSON.stringify(execStatuses)}`,
      );
    } finally {
      client.close();
      if (daemon.child.exitCode === null && daemon.child.signalCode === null)
        process.kill(daemon.pid, 'SIGTERM');
      await daemon.exited;
    }
  });
}
