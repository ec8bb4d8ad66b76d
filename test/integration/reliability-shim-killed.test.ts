/**
 * Shims killed with SIGKILL (each test kills only the shims it started, by
 * PID). load.test.ts covers a fresh supervisor loading after the fact (137
 * for a process still running, 255 for one that vanished or whose PID was
 * reused); here, the supervisors that are watching when it happens: the
 * handle that started the process, a second handle loaded in the same Node
 * process and a supervisor in another Node process, all at once. They agree
 * on the status, the process is killed, and once the container is deleted its
 * id is free at once.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Container,
  ExitStatusFile,
  KilledStatus,
  State,
  UnknownStatus,
  type ContainerProcess,
} from '../../src/index.js';
import { readUntil, sandbox, type Sandbox } from '../helpers/env.js';
import {
  SOAK_ROUNDS,
  assertStartLeftNothing,
  cgroupsNamed,
  isAlive,
  runtimeIdsIn,
  shimPidOf,
  waitGone,
} from './reliability-helpers.js';

const waitChild = fileURLToPath(new URL('./reliability-wait-child.js', import.meta.url));

const box: Sandbox = sandbox();
after(() => box.cleanup());

/** A supervisor in another Node process that has loaded the container and waits on it. */
async function otherSupervisor(
  container: Container,
): Promise<{ statuses: Promise<Record<string, number>> }> {
  const child = spawn(process.execPath, [waitChild, container.root, container.id], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen = { text: '' };
  await readUntil(child.stdout, /^loaded\n/, seen);
  const statuses = (async () => {
    const [, json] = await readUntil(child.stdout, /^loaded\n(.*)\n/, seen);
    return JSON.parse(json!) as Record<string, number>;
  })();
  // Awaited by the test; a failure before then must not go unhandled.
  statuses.catch(() => {});
  return { statuses };
}

function recordedStatus(proc: ContainerProcess): string {
  return readFileSync(join(proc.dir, ExitStatusFile), 'utf8');
}

async function killShim(proc: ContainerProcess): Promise<void> {
  const shim = shimPidOf(proc);
  process.kill(shim, 'SIGKILL');
  assert.ok(await waitGone(shim), `shim ${shim} still there`);
}

describe('the shim of a running init is killed while supervisors watch', () => {
  test('every supervisor reports 137, the process is killed, the id is free once deleted', async () => {
    for (let round = 0; round < SOAK_ROUNDS; round++) await killedWhileWatched();
    if (SOAK_ROUNDS > 1) console.log(`# shims killed under 3 supervisors: ${SOAK_ROUNDS} rounds`);
  });

  async function killedWhileWatched(): Promise<void> {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.run();
    const sameProcess = await Container.load(container.root, container.id);
    const other = await otherSupervisor(container);

    await killShim(init);
    const statuses = await Promise.all([
      init.wait(),
      sameProcess.process('init')!.wait(),
      other.statuses,
    ]);
    assert.deepEqual(statuses, [KilledStatus, KilledStatus, { init: KilledStatus }]);
    assert.equal(KilledStatus, 137);
    assert.equal(recordedStatus(init), '137');
    assert.ok(await waitGone(init.systemPid), 'the unsupervised process is killed');
    assert.equal(container.state(), State.Stopped);
    assert.equal(sameProcess.state(), State.Stopped);

    // A later supervisor reads the same status.
    const later = await Container.load(container.root, container.id);
    assert.equal(later.process('init')!.exitStatus(), KilledStatus);
    for (const handle of [sameProcess, later]) handle.close();

    await container.delete();
    assert.deepEqual(runtimeIdsIn(container.root, container.runtime), []);
    assert.deepEqual(cgroupsNamed(container.id), []);
    // The same id, created and run again at once.
    const again = await Container.create({
      root: container.root,
      id: container.id,
      bundle: box.bundle({ args: ['sh', '-c', 'exit 9'] }),
    });
    const second = await again.run();
    assert.equal(await second.wait(), 9);
    await again.delete();
  }

  test('a created, not yet started init: 137 as well, and the id is free once deleted', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.start();
    await killShim(init);
    assert.equal(await init.wait(), KilledStatus);
    assert.ok(await waitGone(init.systemPid));
    await container.delete();
    const again = await Container.create({
      root: container.root,
      id: container.id,
      bundle: box.bundle({ args: ['true'] }),
    });
    assert.equal(await (await again.run()).wait(), 0);
    await again.delete();
  });
});

describe('the shim of an exec process is killed', () => {
  test('the exec gets 137 everywhere; init and the container carry on', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.run();
    const exec = await container.exec('victim', { args: ['sleep', '100'] });
    const sameProcess = await Container.load(container.root, container.id);
    const other = await otherSupervisor(container);

    await killShim(exec);
    const statuses = await Promise.all([exec.wait(), sameProcess.process('victim')!.wait()]);
    assert.deepEqual(statuses, [KilledStatus, KilledStatus]);
    assert.equal(recordedStatus(exec), '137');
    assert.ok(await waitGone(exec.systemPid));
    assert.equal(init.state(), State.Running);
    assert.ok(isAlive(init.systemPid));
    assert.deepEqual(await container.pids(), [init.systemPid]);
    const next = await container.exec('next', { args: ['sh', '-c', 'exit 3'] });
    assert.equal(await next.wait(), 3);

    await init.signal('SIGKILL');
    assert.equal(await init.wait(), KilledStatus);
    assert.deepEqual(await other.statuses, { init: KilledStatus, victim: KilledStatus });
    sameProcess.close();
    await container.delete();
  });
});

describe('a shim killed, then its process gone, while nobody watched', () => {
  test('255 for a new supervisor, and the id is free once deleted', async () => {
    // load.test.ts checks the 255; here, that such a container is still cleaned up completely.
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.run();
    container.close();
    await killShim(init);
    process.kill(init.systemPid, 'SIGKILL');
    assert.ok(await waitGone(init.systemPid));

    const loaded = await Container.load(container.root, container.id);
    assert.equal(loaded.process('init')!.exitStatus(), UnknownStatus);
    assert.equal(recordedStatus(init), '255');
    await loaded.delete();
    await assertStartLeftNothing(
      await Container.create({
        root: container.root,
        id: container.id,
        bundle: box.bundle({ args: ['true'] }),
      }),
      'recreated',
    );
    const again = await Container.load(container.root, container.id);
    assert.equal(await (await again.run()).wait(), 0);
    await again.delete();
  });
});
