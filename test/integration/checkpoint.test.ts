/**
 * Checkpoint and restore. The contract (exact runtime arguments, files
 * written, listing, deletion, restore through the shim) is tested with a
 * recording double; the real thing runs where CRIU can dump.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CheckpointExistsError,
  CheckpointNotFoundError,
  Container,
  InvalidArgumentError,
  InvalidIdError,
  RuntimeError,
} from '../../src/index.js';
import { readAll, sandbox, type Sandbox, fakeRuntime, readUntil } from '../helpers/env.js';

const execFileAsync = promisify(execFile);
const checkpointingRuntime = fakeRuntime('checkpointing-runtime');

const box: Sandbox = sandbox();
after(() => box.cleanup());

describe('checkpoint contract (recording runtime)', () => {
  test('flags, records, listing, deletion, refusals, and restore through the shim', async () => {
    const record = join(box.base, 'checkpoint-calls.txt');
    rmSync(record, { force: true });
    process.env.BERTH_RECORD_FILE = record;
    try {
      const bundle = box.bundle({ args: ['sh', '-c', 'echo running; sleep 100'] });
      const checkpoints = join(box.base, 'checkpoints');
      const id = `ckpt-${process.pid}`;
      const container = await Container.create({
        root: box.root,
        id,
        bundle,
        runtime: checkpointingRuntime,
      });
      const init = await container.start();
      await init.start();

      const before = Date.now();
      await container.checkpoint(
        { name: 'keep', tcp: true, unixSockets: true, shell: true, emptyNS: ['network'] },
        checkpoints,
      );
      const calls = () => readFileSync(record, 'utf8').trim().split('\n');
      const globalArgs = `--root ${box.root}/.runtime/checkpointing-runtime`;
      assert.equal(
        calls().at(-1),
        `${globalArgs} --log-format json checkpoint --image-path ${checkpoints}/keep --work-path ${checkpoints}/keep/criu.work --leave-running --shell-job --tcp-established --ext-unix-sk --empty-ns network ${id}`,
      );
      const saved = JSON.parse(readFileSync(join(checkpoints, 'keep', 'config.json'), 'utf8'));
      assert.deepEqual(
        { ...saved, created: undefined },
        {
          name: 'keep',
          created: undefined,
          tcp: true,
          unixSockets: true,
          shell: true,
          exit: false,
          emptyNS: ['network'],
        },
      );
      assert.ok(Date.parse(saved.created) >= before - 1000);
      assert.equal(container.state(), 'running', 'without exit the container keeps running');

      await assert.rejects(
        container.checkpoint({ name: 'keep' }, checkpoints),
        CheckpointExistsError,
      );
      await assert.rejects(container.checkpoint({ name: '../up' }, checkpoints), InvalidIdError);
      await assert.rejects(
        container.checkpoint({ name: 'rel' }, 'relative/dir'),
        InvalidArgumentError,
      );
      await assert.rejects(
        container.checkpoint({ name: 'refused' }, checkpoints),
        (err: unknown) => err instanceof RuntimeError && /criu failed/.test(err.message),
      );
      assert.equal(
        existsSync(join(checkpoints, 'refused')),
        false,
        'a failed checkpoint leaves no folder',
      );

      await container.checkpoint({ name: 'final', exit: true, shell: true }, checkpoints);
      // Not necessarily the last call: the init's shim runs `delete` as soon as the checkpoint stops it.
      assert.equal(
        calls().find((line) => line.includes(' checkpoint ') && line.includes('/final ')),
        `${globalArgs} --log-format json checkpoint --image-path ${checkpoints}/final --work-path ${checkpoints}/final/criu.work --shell-job ${id}`,
      );
      assert.equal(await init.wait(), 137, 'with exit the container stops');

      const listed = await container.checkpoints(checkpoints);
      assert.deepEqual(
        listed.map((c) => [c.name, c.exit, c.shell, c.tcp]),
        [
          ['keep', false, true, true],
          ['final', true, true, false],
        ],
      );
      assert.ok(listed.every((c) => c.created instanceof Date));
      await container.deleteCheckpoint('keep', checkpoints);
      await assert.rejects(
        container.deleteCheckpoint('keep', checkpoints),
        CheckpointNotFoundError,
      );
      assert.deepEqual(readdirSync(checkpoints), ['final']);
      await container.delete();

      // Restore: a new container of the same id, started from the checkpoint, through the shim.
      const restored = await Container.create({
        root: box.root,
        id,
        bundle,
        runtime: checkpointingRuntime,
      });
      await assert.rejects(
        restored.start({ checkpoint: 'missing', checkpointDir: checkpoints }),
        CheckpointNotFoundError,
      );
      const back = await restored.start({
        checkpoint: 'final',
        checkpointDir: checkpoints,
        stdio: { stdout: 'pipe' },
      });
      const dir = join(box.root, id, 'init');
      assert.equal(
        calls().find((line) => line.includes(' restore ')),
        `${globalArgs} --log ${dir}/log.json --log-format json restore -d --image-path ${checkpoints}/final --work-path ${dir}/criu.work --bundle ${bundle} --pid-file ${dir}/pid --shell-job ${id}`,
      );
      await back.start(); // A no-op: a restored process is already running.
      await readUntil(back.stdout!, /running/);
      assert.equal(restored.state(), 'running');
      await restored.delete({ force: true });
    } finally {
      delete process.env.BERTH_RECORD_FILE;
    }
  });
});

/** Why real CRIU cannot run here, or undefined when it can: `criu check`, then a probe dump. */
async function criuSkipReason(): Promise<string | undefined> {
  try {
    await execFileAsync('criu', ['check'], { timeout: 20_000 });
  } catch (err) {
    const text =
      `${(err as { stderr?: string }).stderr ?? ''}`.trim().split('\n').at(-1) ?? String(err);
    return `\`criu check\` fails on this machine: ${text}`;
  }
  const probe = await box.create({ args: ['sleep', '100'] });
  try {
    const init = await probe.start();
    await init.start();
    await execFileAsync(
      'runc',
      [
        ...probe.runtimeArgs,
        'checkpoint',
        '--image-path',
        join(box.base, 'probe-image'),
        '--leave-running',
        probe.id,
      ],
      {
        timeout: 30_000,
      },
    );
    return undefined;
  } catch (err) {
    return `a probe dump fails on this machine: ${String((err as Error).message).split('\n')[0]}`;
  } finally {
    await probe.delete({ force: true });
  }
}

describe('checkpoint and restore with real CRIU', () => {
  test('checkpoint a counting container with exit, restore it, and it goes on', async (t) => {
    const reason = await criuSkipReason();
    if (reason) {
      console.log(`# skipping real CRIU checkpoint/restore: ${reason}`);
      t.skip(reason);
      return;
    }
    const bundle = box.bundle({
      args: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'],
    });
    const checkpoints = join(box.base, 'real-checkpoints');
    const id = `criu-${process.pid}`;
    const container = await Container.create({ root: box.root, id, bundle });
    const init = await container.start();
    await init.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await container.checkpoint({ name: 'c1', exit: true }, checkpoints);
    await init.wait();
    await container.delete();
    const restored = await Container.create({ root: box.root, id, bundle });
    const back = await restored.start({ checkpoint: 'c1', checkpointDir: checkpoints });
    await back.start();
    const exec = await restored.exec(
      'read',
      { args: ['cat', '/tmp/count'] },
      { stdio: { stdout: 'pipe' } },
    );
    assert.ok(Number(await readAll(exec.stdout)) > 1, 'the counter survived the restore');
    await restored.delete({ force: true });
  });
});
