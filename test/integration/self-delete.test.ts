/**
 * The init's shim removes runc's container itself after the exit when runc's
 * delete would do nothing more (shim/src/self_delete.h, src/runtime/shim/
 * self-delete.ts): nothing of the container is left in any cgroup hierarchy
 * nor in runc's state, runc no longer knows it, and its id is free at once.
 * Where runc's delete does more (poststop hooks, no PID namespace of its own)
 * or the shim finds the cgroups busy, runc's delete runs as before.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Container, type ContainerProcess } from '../../src/index.js';
import { rootArg } from '../../src/runtime/oci/commands.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { SupervisorEvent } from '../../src/supervisor/types.js';
import { bundleConfig } from '../../support/busybox.js';
import { processesUnder, runtimeIds, sandbox, uniqueId, type Sandbox } from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

const SELF_DELETED = /self-delete: removed \d+ cgroup directories/;
const RUNTIME_DELETE = / delete [^ ]+"/;

function runtimeRoot(container: Container): string {
  return rootArg(container.runtimeArgs)!;
}

/** runc's record of the container's cgroups, every hierarchy (the unified one too), read while it runs. */
function runcCgroupPaths(container: Container): string[] {
  const state = JSON.parse(
    readFileSync(join(runtimeRoot(container), container.id, 'state.json'), 'utf8'),
  ) as { cgroup_paths: Record<string, string> };
  return [...new Set(Object.values(state.cgroup_paths))];
}

function shimLog(init: ContainerProcess<Container>): string {
  return readFileSync(join(init.dir, 'shim-log.json'), 'utf8');
}

function runcState(container: Container): { status: number; stderr: string } {
  const result = spawnSync('runc', [...container.runtimeArgs, 'state', container.id], {
    encoding: 'utf8',
  });
  return { status: result.status ?? -1, stderr: result.stderr };
}

/** Runs the container to its exit; returns its shim's log and the cgroups it had. */
async function runToExit(
  container: Container,
): Promise<{ init: ContainerProcess<Container>; log: string; cgroups: string[] }> {
  const init = await container.run();
  const cgroups = runcCgroupPaths(container);
  assert.ok(cgroups.length > 0, 'runc recorded cgroups');
  await init.signal('SIGKILL');
  assert.equal(await init.wait(), 137);
  await init.shimExited();
  return { init, log: shimLog(init), cgroups };
}

describe("the init's shim removes runc's container itself", () => {
  test('nothing is left: no cgroup in any hierarchy, no runtime state; runc no longer knows it', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const { init, log, cgroups } = await runToExit(container);
    assert.match(log, SELF_DELETED);
    assert.doesNotMatch(log, RUNTIME_DELETE, 'no runc delete ran');
    assert.equal(init.runtimeDeleted, true);
    for (const dir of cgroups) assert.equal(existsSync(dir), false, `${dir} still exists`);
    assert.equal(existsSync(join(runtimeRoot(container), container.id)), false);
    assert.equal(runtimeIds(box.root).includes(container.id), false, 'runc list');
    const state = runcState(container);
    assert.notEqual(state.status, 0);
    assert.match(state.stderr, /does not exist/);
    await container.delete();
    assert.equal(existsSync(container.dir), false);
  });

  test('a library that watches only once the shim is gone still learns the container was deleted', async () => {
    const container = await box.create({ args: ['true'] });
    const init = await container.run();
    await init.wait();
    await init.shimExited();
    assert.equal(init.runtimeDeleted, true);
    assert.equal(existsSync(join(init.dir, 'runtimeDeleted')), true);
    container.close();
    // The FIFO's lines went with the shim: the file tells it.
    const loaded = await Container.load(box.root, container.id);
    assert.equal(loaded.process('init')?.runtimeDeleted, true);
    await loaded.delete();
    assert.equal(existsSync(loaded.dir), false);
  });

  test('with a poststop hook, runc deletes it (and runs the hook)', async () => {
    const marker = join(box.base, `poststop-${uniqueId()}`);
    const config = bundleConfig({ args: ['sleep', '100'] }) as Record<string, unknown>;
    config.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `echo ran > ${marker}`] }] };
    const container = await createWithConfig(config);
    const { init, log, cgroups } = await runToExit(container);
    assert.doesNotMatch(log, SELF_DELETED);
    assert.match(log, RUNTIME_DELETE);
    assert.equal(init.runtimeDeleted, true);
    assert.equal(readFileSync(marker, 'utf8'), 'ran\n');
    for (const dir of cgroups) assert.equal(existsSync(dir), false, `${dir} still exists`);
    await container.delete();
  });

  test("without a PID namespace of its own, runc deletes it (it kills what is left in the container's cgroups)", async () => {
    const config = bundleConfig({ args: ['sleep', '100'] }) as {
      linux: { namespaces: Array<{ type: string }> };
    };
    config.linux.namespaces = config.linux.namespaces.filter((ns) => ns.type !== 'pid');
    const container = await createWithConfig(config as unknown as Record<string, unknown>);
    const { init, log, cgroups } = await runToExit(container);
    assert.doesNotMatch(log, SELF_DELETED);
    assert.match(log, RUNTIME_DELETE);
    assert.equal(init.runtimeDeleted, true);
    for (const dir of cgroups) assert.equal(existsSync(dir), false, `${dir} still exists`);
    await container.delete();
  });

  test('a cgroup the shim cannot remove (a process outside the container in it): runc delete runs after all', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.run();
    const cgroups = runcCgroupPaths(container);
    const pidsDir = cgroups.find((dir) => dir.includes('/pids/'));
    assert.ok(pidsDir, `a pids cgroup among ${cgroups.join(', ')}`);
    // Not the container's: the kernel does not kill it with the container's PID namespace.
    const intruder = spawn('sleep', ['100'], { stdio: 'ignore' });
    try {
      writeFileSync(join(pidsDir, 'cgroup.procs'), String(intruder.pid));
      await init.signal('SIGKILL');
      assert.equal(await init.wait(), 137);
      await init.shimExited();
      const log = shimLog(init);
      assert.match(log, /self-delete: cannot remove cgroup/);
      assert.match(log, RUNTIME_DELETE, 'runc delete ran after the shim gave up');
      assert.equal(existsSync(join(runtimeRoot(container), container.id)), false);
    } finally {
      intruder.kill('SIGKILL');
      await new Promise((resolve) => intruder.once('exit', resolve));
    }
    // runc logs a cgroup it could not remove and reports success: what it left is the library's.
    await container.delete();
    for (let i = 0; i < 50 && existsSync(pidsDir); i++) {
      try {
        rmdirSync(pidsDir);
      } catch {
        await sleep(20);
      }
    }
    assert.equal(existsSync(pidsDir), false, `${pidsDir} could not be removed`);
  });
});

describe('the supervisor, the same id again', () => {
  test('an id is created again right after its exit event, five times over', async () => {
    const stateDir = join(box.base, 'state-reuse');
    const supervisor = await Supervisor.open({ stateDir });
    try {
      const subscription = supervisor.subscribe();
      const iterator = subscription[Symbol.asyncIterator]();
      const id = uniqueId('reuse');
      const bundlePath = box.bundle({ args: ['true'] });
      for (let round = 0; round < 5; round++) {
        await supervisor.createContainer({ id, bundlePath });
        let event: SupervisorEvent | undefined;
        do {
          const next = await iterator.next();
          assert.equal(next.done, false, 'the event stream ended');
          event = next.value as SupervisorEvent;
        } while (!(event.type === 'exit' && event.id === id && event.pid === 'init'));
        assert.equal(event.status, 0, `round ${round}`);
      }
      assert.equal(runtimeIds(stateDir).includes(id), false, 'runtime state left');
      assert.deepEqual(processesUnder(stateDir), [], 'processes left');
      assert.equal(existsSync(join(stateDir, id)), false, 'state folder left');
    } finally {
      await supervisor.close();
    }
  });
});

async function createWithConfig(config: Record<string, unknown>): Promise<Container> {
  const bundle = box.bundle();
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return box.create(undefined, { bundle });
}
