/** The supervisor embedded (no gRPC): v0.2.8's exit rules, events, journal, restart. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerNotFoundError, ProcessExitedError } from '../../src/index.js';
import { SlowSubscriberError, StateDirLockedError } from '../../src/supervisor/errors.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { SupervisorEvent } from '../../src/supervisor/types.js';
import { processesUnder, runtimeIds, sandbox, uniqueId, type Sandbox } from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

const child = fileURLToPath(new URL('../helpers/supervisor-child.js', import.meta.url));

/** Reads one subscription in steps: each `until` returns the events up to where `done` says so. */
function reader(iterable: AsyncIterable<SupervisorEvent>) {
  const iterator = iterable[Symbol.asyncIterator]();
  return {
    async until(
      done: (seen: SupervisorEvent[]) => boolean,
      timeoutMs = 15_000,
    ): Promise<SupervisorEvent[]> {
      const seen: SupervisorEvent[] = [];
      const deadline = sleep(timeoutMs, 'timeout', { ref: false });
      while (!done(seen)) {
        const next = await Promise.race([iterator.next(), deadline]);
        if (typeof next === 'string')
          throw new Error(`timed out; seen ${JSON.stringify(brief(seen))}`);
        if (next.done) break;
        seen.push(next.value);
      }
      return seen;
    },
    async rest(): Promise<SupervisorEvent[]> {
      const seen: SupervisorEvent[] = [];
      for (;;) {
        const next = await iterator.next();
        if (next.done) return seen;
        seen.push(next.value);
      }
    },
  };
}

function brief(events: SupervisorEvent[]): string[] {
  return events.map((e) => `${e.type}:${e.id}:${e.pid}:${e.status}`);
}

function assertStateDirEmpty(stateDir: string): void {
  const left = readdirSync(stateDir).filter(
    (name) => !name.startsWith('.') && name !== 'events.log',
  );
  assert.deepEqual(left, [], 'container folders left');
  assert.deepEqual(runtimeIds(stateDir), [], 'runtime state left');
  assert.deepEqual(processesUnder(stateDir), [], 'processes left');
}

describe('exits, as containerd v0.2.8 reports them', () => {
  test('exec exits are reported and forgotten; init exit kills the rest, deletes, reports each', async () => {
    const stateDir = join(box.base, 'state-exits');
    const supervisor = await Supervisor.open({ stateDir });
    try {
      const subscription = supervisor.subscribe();
      const events = reader(subscription);
      const id = uniqueId('sup');
      const info = await supervisor.createContainer({
        id,
        bundlePath: box.bundle({ args: ['sleep', '100'] }),
      });
      assert.equal(info.status, 'running');
      assert.equal(info.processes[0]?.pid, 'init');
      assert.ok(info.pids.includes(info.processes[0]!.systemPid));
      await supervisor.addProcess({ id, pid: 'quick', args: ['sh', '-c', 'exit 3'] });
      await supervisor.addProcess({ id, pid: 'long', args: ['sleep', '100'] });
      const seen = await events.until(
        (s) =>
          s.some((e) => e.pid === 'quick' && e.type === 'exit') &&
          s.some((e) => e.pid === 'long' && e.type === 'start-process'),
      );
      assert.deepEqual(brief(seen).slice(0, 2), ['live:::0', `start-container:${id}:init:0`]);
      assert.deepEqual(brief(seen).slice(2).sort(), [
        `exit:${id}:quick:3`,
        `start-process:${id}:long:0`,
        `start-process:${id}:quick:0`,
      ]);
      const stamps = seen.map((e) => e.timestamp);
      assert.deepEqual(
        [...stamps].sort((a, b) => (a < b ? -1 : 1)),
        stamps,
        'timestamps grow',
      );
      await supervisor.settled();
      const state = await supervisor.state(id);
      assert.deepEqual(
        state.containers[0]!.processes.map((p) => p.pid).sort(),
        ['init', 'long'],
        'the exited exec is forgotten',
      );
      await supervisor.signal(id, 'init', 9);
      const end = await events.until((s) => s.some((e) => e.pid === 'init' && e.type === 'exit'));
      assert.deepEqual(brief(end).sort(), [`exit:${id}:init:137`, `exit:${id}:long:137`].sort());
      assert.equal(brief(end).at(-1), `exit:${id}:init:137`, 'init reported last');
      await assert.rejects(supervisor.state(id), ContainerNotFoundError);
      await assert.rejects(supervisor.signal(id, 'init', 9), ContainerNotFoundError);
      assert.equal(existsSync(join(stateDir, id)), false, 'deleted before its exit was announced');
      subscription.close();
    } finally {
      await supervisor.close();
    }
    assertStateDirEmpty(stateDir);
  });
});
