/**
 * Runtimes that fail in the ways validation.test.ts and defects.test.ts do not
 * play: one killed mid-create (runc carrying on unwatched), one that created
 * the container and then failed, and runtimes that fail with their words in
 * their log at each kind of start. Each start ends in a typed error with the
 * runtime's words (when it had any) within the start timeout, and nothing is
 * left: no process folder, FIFO, runtime state, cgroup or process.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortError,
  Container,
  ContainerNotStartedError,
  RuntimeError,
  type BerthError,
} from '../../src/index.js';
import { fakeRuntime, sandbox, type Sandbox } from '../helpers/env.js';
import { SOAK_ROUNDS, assertStartLeftNothing, withEnv } from './reliability-helpers.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

const TIMEOUT_MS = 5000;

function describeProcess(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`;
  } catch {
    return 'gone';
  }
}

/** Runs a start that must fail; returns its error and how long it took. */
async function failedStart(start: () => Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const began = Date.now();
  try {
    await start();
  } catch (err) {
    return { err, ms: Date.now() - began };
  }
  assert.fail('the start succeeded');
}

/** The fixed delays, then (under soak) random ones, each round. */
function delaysFor(fixed: readonly string[]): string[] {
  const all = [...fixed];
  for (let round = 1; round < SOAK_ROUNDS; round++)
    for (let i = 0; i < fixed.length; i++) all.push((Math.random() * 0.4).toFixed(3));
  return all;
}

describe('a runtime killed mid-create', () => {
  // From "killed before runc started" to "killed after runc created the container".
  const delays = delaysFor(['0', '0.01', '0.03', '0.06', '0.1', '0.2', '0.4']);
  for (const how of ['start', 'run'] as const) {
    test(`${how}(): a typed error within the start timeout, whatever runc had done by then`, async (t) => {
      let slowest = 0;
      // A subtest per delay: one failing does not hide the others.
      for (const delay of delays)
        await t.test(`killed after ${delay} s`, async () => {
          const container = await box.create(
            { args: ['sleep', '100'] },
            { runtime: fakeRuntime('dying-runtime'), timeout: TIMEOUT_MS },
          );
          const { err, ms } = await withEnv({ BERTH_DIE_AFTER: delay }, () =>
            failedStart(() => container[how]()),
          );
          const what = `${how}, killed after ${delay} s`;
          assert.ok(
            err instanceof ContainerNotStartedError,
            `${what}: ${String(err)} (${(err as BerthError).code})`,
          );
          assert.match((err as Error).message, /failed \(exit status 137\)/, what);
          assert.ok(ms < TIMEOUT_MS, `${what}: settled after ${ms} ms`);
          slowest = Math.max(slowest, ms);
          await assertStartLeftNothing(container, what);
          await container.delete();
        });
      console.log(
        `# ${how}() with the runtime killed mid-way: ${delays.length} starts, slowest refusal ${slowest} ms`,
      );
    });
  }

  test('exec: killed mid-exec, the exec process is not left running in the container', async (t) => {
    const container = await box.create(
      { args: ['sleep', '100'] },
      { runtime: fakeRuntime('dying-runtime'), timeout: TIMEOUT_MS },
    );
    const init = await withEnv({ BERTH_DIE_ON: 'none' }, () => container.run());
    const delays = delaysFor(['0', '0.02', '0.05', '0.1', '0.3']);
    for (const delay of delays)
      await t.test(`killed after ${delay} s`, async () => {
        const { err, ms } = await withEnv({ BERTH_DIE_ON: 'exec', BERTH_DIE_AFTER: delay }, () =>
          failedStart(() => container.exec('victim', { args: ['sleep', '77'] })),
        );
        assert.ok(err instanceof ContainerNotStartedError, `exec after ${delay} s: ${String(err)}`);
        assert.ok(ms < TIMEOUT_MS);
        // A runtime process being killed may take a moment to leave the cgroup.
        let pids: number[] = [];
        const onlyInit = async () => {
          pids = await container.pids();
          return pids.length === 1 && pids[0] === init.systemPid;
        };
        for (let i = 0; i < 100 && !(await onlyInit()); i++) await sleep(20);
        assert.deepEqual(
          pids.map((pid) => `${pid} ${describeProcess(pid)}`),
          [`${init.systemPid} ${describeProcess(init.systemPid)}`],
          `exec killed after ${delay} s: only init runs`,
        );
        assert.deepEqual(
          container.processes().map((p) => p.id),
          ['init'],
        );
      });
    console.log(`# exec with the runtime killed mid-way: ${delays.length} execs`);
    await container.delete({ force: true });
  });
});

describe('a runtime that created the container, then failed', () => {
  for (const how of ['start', 'run'] as const) {
    test(`${how}(): RuntimeError with its words; the half-made container is removed`, async () => {
      const container = await box.create(
        { args: ['sleep', '100'] },
        { runtime: fakeRuntime('half-creating-runtime'), timeout: TIMEOUT_MS },
      );
      const { err, ms } = await failedStart(() => container[how]());
      assert.ok(
        err instanceof RuntimeError &&
          /half-created: post-create hook failed after runc (create|run)/.test(err.message),
        String(err),
      );
      assert.ok(ms < TIMEOUT_MS, `settled after ${ms} ms`);
      await assertStartLeftNothing(container, how);
      // The same container starts once the runtime behaves.
      await container.delete();
    });
  }
});

describe('a runtime that fails with its words', () => {
  const cases = [
    { how: 'run', format: 'json' },
    { how: 'run', format: 'plain' },
    { how: 'start', format: 'plain' },
  ] as const;
  for (const { how, format } of cases) {
    test(`${how}(), words as ${format} text after warnings: RuntimeError quoting them`, async () => {
      const container = await box.create(
        { args: ['sleep', '100'] },
        { runtime: fakeRuntime('talking-runtime'), timeout: TIMEOUT_MS },
      );
      const words = `no ${how} today: quota "exceeded" (${format})`;
      const { err, ms } = await withEnv(
        {
          BERTH_FAIL_MSG: format === 'json' ? words.replaceAll('"', '\\"') : words,
          BERTH_FAIL_FORMAT: format,
        },
        () => failedStart(() => container[how]()),
      );
      assert.ok(err instanceof RuntimeError, String(err));
      assert.ok(err.message.endsWith(words), `${err.message} quotes ${words}`);
      assert.ok(ms < TIMEOUT_MS);
      await assertStartLeftNothing(container, `${how} ${format}`);
      await container.delete();
    });
  }

  test('exec: RuntimeError quoting it; the container and its init are untouched', async () => {
    const container = await box.create(
      { args: ['sleep', '100'] },
      { runtime: fakeRuntime('talking-runtime'), timeout: TIMEOUT_MS },
    );
    const init = await withEnv({ BERTH_FAIL_ON: 'none' }, () => container.run());
    const { err } = await withEnv(
      { BERTH_FAIL_ON: 'exec', BERTH_FAIL_MSG: 'exec refused: no such user' },
      () => failedStart(() => container.exec('e', { args: ['true'] })),
    );
    assert.ok(
      err instanceof RuntimeError && /exec refused: no such user$/.test(err.message),
      String(err),
    );
    assert.deepEqual(await container.pids(), [init.systemPid]);
    assert.deepEqual(
      container.processes().map((p) => p.id),
      ['init'],
    );
    // Still fully usable.
    const ok = await withEnv({ BERTH_FAIL_ON: 'none' }, () =>
      container.exec('e', { args: ['true'] }),
    );
    assert.equal(await ok.wait(), 0);
    await container.delete({ force: true });
  });
});

describe('starts cut short by the caller', () => {
  test('real runc aborted 5-60 ms in: no torn runtime state; the id starts right after', async () => {
    // defects.test.ts checks the cgroups of such starts; here, the runtime's own state folder.
    let aborted = 0;
    const attempts = 12 * SOAK_ROUNDS;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const container = await box.create({ args: ['sh', '-c', 'exit 7'] });
      const cutAfter = 5 + ((attempt * 5) % 56);
      const how = attempt % 2 ? 'run' : 'start';
      const outcome = await container[how]({ signal: AbortSignal.timeout(cutAfter) }).then(
        (init) => init,
        (err: unknown) => err,
      );
      if (outcome instanceof AbortError) {
        aborted++;
        await assertStartLeftNothing(container, `${how} cut after ${cutAfter} ms`);
        const init = await container.run();
        assert.equal(await init.wait(), 7, `the id runs after a cut ${how}`);
      } else {
        assert.ok(!(outcome instanceof Error), String(outcome));
      }
      await container.delete({ force: true });
    }
    console.log(`# real runc cut short: ${attempts} starts, ${aborted} aborted mid-way`);
    assert.ok(aborted > 0, 'no start was cut short');
  });
});

test('the same id starts for real once the runtime behaves', async () => {
  const container = await box.create(
    { args: ['sh', '-c', 'exit 4'] },
    { runtime: fakeRuntime('dying-runtime'), timeout: TIMEOUT_MS },
  );
  // Killed while runc is mid-create: runc's state folder for the id exists, without a state.
  await withEnv({ BERTH_DIE_AFTER: '0.01' }, () => failedStart(() => container.run()));
  await assertStartLeftNothing(container, 'dying run');
  const loaded = await Container.load(container.root, container.id);
  const init = await withEnv({ BERTH_DIE_ON: 'none' }, () => loaded.run());
  assert.equal(await init.wait(), 4);
  await loaded.delete();
  await container.delete().catch(() => {});
});
