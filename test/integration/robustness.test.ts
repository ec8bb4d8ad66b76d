/** Concurrency, readers that come and go, and handles that outlive their containers. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Container, State, defaultShimPath } from '../../src/index.js';
import {
  fakeRuntime,
  readAll,
  readUntil,
  sandbox,
  uniqueId,
  type Sandbox,
} from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

test('eight containers started at once each get their own output and status', async () => {
  const bundles = Array.from({ length: 8 }, (_, i) =>
    box.bundle({ args: ['sh', '-c', `echo container-${i}; exit ${i}`] }),
  );
  const containers = await Promise.all(
    bundles.map((bundle) => Container.create({ root: box.root, id: uniqueId('many'), bundle })),
  );
  const results = await Promise.all(
    containers.map(async (container) => {
      const init = await container.run({ stdio: { stdout: 'pipe' } });
      const [status, output] = await Promise.all([init.wait(), readAll(init.stdout)]);
      await container.delete();
      return [status, output];
    }),
  );
  assert.deepEqual(
    results,
    bundles.map((_, i) => [i, `container-${i}\n`]),
  );
});

/** Opens a FIFO for reading the way a client of containerd would, as a stream. */
function openReader(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

test('a stdout reader that goes away and comes back: the container lives on, output resumes', async () => {
  const fifo = join(box.base, 'stdout.fifo');
  execFileSync('mkfifo', [fifo]);
  const first = openReader(fifo);
  const container = await box.create({
    args: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.05; done'],
  });
  const init = await container.run({ stdio: { stdout: fifo } });
  await readUntil(first, /tick-2\n/);
  // The supervisor that read it dies: nobody reads the FIFO for a while.
  first.destroy();
  await sleep(300);
  assert.equal(init.state(), State.Running, 'no SIGPIPE for the container');
  const second = openReader(fifo);
  const seen = { text: '' };
  const [, tick] = (await readUntil(second, /tick-(\d+)\n/, seen)) as RegExpMatchArray;
  assert.ok(Number(tick) > 2, `output resumed after the gap (tick-${tick})`);
  second.destroy();
  await container.delete({ force: true });
});

test('handles outlive their containers: calls on a deleted container fail typed, not hang', async () => {
  const container = await box.create({ args: ['sleep', '100'] });
  const init = await container.run();
  await container.delete({ force: true });
  assert.equal(container.state(), State.Stopped);
  assert.equal(init.state(), State.Stopped);
  assert.equal(await init.wait(), 137);
  await assert.rejects(container.stats(), { code: 'ERR_CONTAINER_EXITED' });
  await assert.rejects(container.pause(), { code: 'ERR_CONTAINER_EXITED' });
  await assert.rejects(container.exec('late', { args: ['true'] }), {
    code: 'ERR_CONTAINER_EXITED',
  });
  await assert.rejects(init.signal('SIGTERM'), { code: 'ERR_CONTAINER_EXITED' });
  await assert.rejects(init.closeStdin(), { code: 'ERR_CONTAINER_EXITED' });
  await assert.rejects(Container.load(box.root, container.id), { code: 'ERR_CONTAINER_NOT_FOUND' });
});

test('a shim binary without a spawner mode is started directly', async () => {
  process.env.BERTH_REAL_SHIM = defaultShimPath();
  try {
    const results = await Promise.all(
      [3, 4].map(async (status) => {
        const container = await box.create(
          { args: ['sh', '-c', `exit ${status}`] },
          { shim: fakeRuntime('no-spawner-shim') },
        );
        const init = await container.run();
        const exitStatus = await init.wait();
        await container.delete();
        return exitStatus;
      }),
    );
    assert.deepEqual(results, [3, 4]);
  } finally {
    delete process.env.BERTH_REAL_SHIM;
  }
});
