/**
 * The supervisor killed with SIGKILL at a random moment while containers are
 * being created and are exiting: after a restart every container is either
 * recovered and reported (one `exit`, the right status) or was never there,
 * never a phantom; nothing is left behind.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { SupervisorEvent } from '../../src/supervisor/types.js';
import { processesUnder, runtimeIds, sandbox, type Sandbox } from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

const child = fileURLToPath(new URL('../helpers/supervisor-child.js', import.meta.url));
const ROUNDS = Number(process.env.BERTH_KILL_ROUNDS ?? 3);
const PER_ROUND = Number(process.env.BERTH_KILL_CONTAINERS ?? 12);

async function storedEvents(supervisor: Supervisor): Promise<SupervisorEvent[]> {
  const events: SupervisorEvent[] = [];
  for await (const event of supervisor.subscribe({ since: 0n, storedOnly: true }))
    events.push(event);
  return events;
}

for (let round = 1; round <= ROUNDS; round++) {
  test(`round ${round}: kill -9 mid-flight, restart, every exit once with its status`, async () => {
    const stateDir = join(box.base, `state-kill-${round}`);
    // Container i exits with status i+1 after 0-1.5 s.
    const expected = new Map<string, number>();
    const specs: string[] = [];
    for (let i = 0; i < PER_ROUND; i++) {
      const id = `k${round}-${i}`;
      expected.set(id, i + 1);
      const delay = ((i * 7) % 16) / 10;
      specs.push(`${id}=${box.bundle({ args: ['sh', '-c', `sleep ${delay}; exit ${i + 1}`] })}`);
    }
    const proc = spawn(process.execPath, [child, stateDir, ...specs], { stdio: 'ignore' });
    // Somewhere during the creates, or once some have exited.
    await sleep(150 + ((round * 337) % 900));
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('exit', resolve));

    const supervisor = await Supervisor.open({ stateDir });
    try {
      // Wait for every recovered (or, a moment later, adopted) container to end.
      for (let i = 0; i < 100; i++) {
        if ((await supervisor.state()).containers.length === 0) {
          await supervisor.settled();
          if ((await supervisor.state()).containers.length === 0) break;
        }
        await sleep(100);
      }
      assert.deepEqual((await supervisor.state()).containers, [], 'no phantom stays running');
      const events = await storedEvents(supervisor);
      const started = new Set(events.filter((e) => e.type === 'start-container').map((e) => e.id));
      const exits = events.filter((e) => e.type === 'exit');
      const exitCount = new Map<string, number>();
      for (const exit of exits) {
        exitCount.set(exit.id, (exitCount.get(exit.id) ?? 0) + 1);
        assert.equal(exit.pid, 'init');
        assert.equal(exit.status, expected.get(exit.id), `status of ${exit.id}`);
      }
      for (const [id, count] of exitCount) assert.equal(count, 1, `${id} reported once`);
      for (const id of started)
        assert.ok(exitCount.has(id), `${id} started, so its exit is reported`);
    } finally {
      await supervisor.close();
    }
    const left = readdirSync(stateDir).filter((n) => !n.startsWith('.') && n !== 'events.log');
    assert.deepEqual(left, [], 'container folders left');
    assert.deepEqual(runtimeIds(stateDir), [], 'runtime state left');
    assert.deepEqual(processesUnder(stateDir), [], 'processes left');
  });
}
