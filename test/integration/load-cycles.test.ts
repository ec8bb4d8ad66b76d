/**
 * Many create → exit → delete cycles through a real berthd, a few in flight
 * at once: busybox `true`, its `exit` event awaited on an Events stream
 * (berthd deletes the container itself when init exits). The daemon's
 * descriptors, its processes, state folders, cgroups and runtime states are
 * the same after as before; RSS grows by less than 30 MB.
 * CI: 200 cycles; BERTH_LOAD_CYCLES for the soak.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../helpers/api-client.js';
import { createRequest, figures, harness, recordEvents, waitFor } from '../helpers/berthd-load.js';

const CYCLES = Number(process.env.BERTH_LOAD_CYCLES ?? 200);
const IN_FLIGHT = Number(process.env.BERTH_LOAD_IN_FLIGHT ?? 4);
const h = harness('load-cycles');
after(() => h.cleanup());

test(`${CYCLES} create→exit→delete cycles leak nothing`, { timeout: 600_000 }, async () => {
  const prefix = `lc${process.pid}x`;
  const daemon = await h.start(['--retain-count', '100']);
  const client = connect(daemon.address);
  const bundlePath = h.bundle({ args: ['true'] });
  const events = recordEvents(
    client.raw.events({ timestamp: undefined, storedOnly: false, id: '' }),
  );
  await waitFor(() => events.seen.some((e) => e.type === 'live'), 'live marker');

  const cycle = async (id: string) => {
    await client.createContainer(createRequest(id, bundlePath));
    await waitFor(
      () => events.seen.some((e) => e.type === 'exit' && e.id === id && e.pid === 'init'),
      `exit of ${id}`,
      30_000,
    );
  };
  // Warm up with a running container, which also shows the measures see one:
  // its cgroups, its runtime state, its processes, its folder.
  const idle = figures(daemon, prefix);
  const warm = `${prefix}warm`;
  await client.createContainer(createRequest(warm, h.bundle({ args: ['sleep', '100'] })));
  const during = figures(daemon, prefix);
  assert.ok(during.cgroups > idle.cgroups, `cgroups seen: ${JSON.stringify(during)}`);
  assert.ok(during.runtimeStates > idle.runtimeStates, 'runtime state seen');
  assert.ok(during.processes > idle.processes, 'processes seen');
  assert.ok(during.folders > idle.folders, 'state folder seen');
  await client.signal({ id: warm, pid: 'init', signal: 9 });
  await waitFor(() => events.seen.some((e) => e.type === 'exit' && e.id === warm), 'warm exit');
  await waitFor(async () => (await client.state({ id: '' })).containers.length === 0, 'warm gone');
  // Concurrent starts go through berthd's resident shim spawner (a process
  // and two pipes, made on the first overlap): a fixed cost, not a leak, so
  // it is there before the first measure.
  await Promise.all([0, 1, 2, 3].map((i) => cycle(`${prefix}spawner${i}`)));
  await waitFor(async () => (await client.state({ id: '' })).containers.length === 0, 'warm gone');
  await sleep(500);
  const before = figures(daemon, prefix);
  const started = Date.now();

  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < CYCLES) await cycle(`${prefix}${next++}`);
    }),
  );
  const elapsed = Date.now() - started;
  await waitFor(
    async () => (await client.state({ id: '' })).containers.length === 0,
    'all deleted',
    30_000,
  );
  // Settle: berthd deletes after the exit event; let it finish.
  let afterFigures = figures(daemon, prefix);
  for (let i = 0; i < 40; i++) {
    afterFigures = figures(daemon, prefix);
    if (
      afterFigures.fds <= before.fds &&
      afterFigures.processes === before.processes &&
      afterFigures.folders === before.folders &&
      afterFigures.cgroups === before.cgroups &&
      afterFigures.runtimeStates === before.runtimeStates
    )
      break;
    await sleep(250);
  }
  events.cancel();
  client.close();

  const exits = events.seen.filter((e) => e.type === 'exit' && e.id.startsWith(prefix));
  console.log(
    `# load-cycles: ${CYCLES} cycles (${IN_FLIGHT} in flight) in ${elapsed} ms (${(
      (CYCLES * 1000) /
      elapsed
    ).toFixed(
      1,
    )}/s); running one ${JSON.stringify(during)}; before ${JSON.stringify(before)}; after ${JSON.stringify(afterFigures)}; RSS +${(
      (afterFigures.rssKb - before.rssKb) /
      1024
    ).toFixed(1)} MB`,
  );
  assert.equal(exits.length, CYCLES + 5, 'one exit per container (and the 5 warm-ups)');
  assert.ok(exits.every((e) => e.id === warm || e.status === 0));
  assert.equal(afterFigures.fds, before.fds, 'descriptors');
  assert.equal(afterFigures.processes, before.processes, 'processes');
  assert.equal(afterFigures.folders, before.folders, 'state folders');
  assert.equal(afterFigures.cgroups, before.cgroups, 'cgroups');
  assert.equal(afterFigures.runtimeStates, before.runtimeStates, 'runtime states');
  assert.ok(afterFigures.rssKb - before.rssKb < 30 * 1024, 'RSS grew by less than 30 MB');
});
