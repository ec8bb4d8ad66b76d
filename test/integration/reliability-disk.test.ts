/**
 * Disk trouble: a state root on a tiny tmpfs (512 kB) that is filled up,
 * before a start, page by page around one, and while a process runs; and
 * records torn on disk. Refusals are typed (StateWriteError for berth's own
 * writes, ENOSPC in its message) and leave nothing; records that were
 * written read back whole; an exit status survives a disk that filled up
 * while the process ran.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  statfsSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  BerthError,
  Container,
  CorruptStateError,
  ExitStatusFile,
  ProcessFile,
  State,
  StateWriteError,
  UnknownStatus,
} from '../../src/index.js';
import { sandbox, uniqueId, type Sandbox } from '../helpers/env.js';
import {
  SOAK_ROUNDS,
  assertStartLeftNothing,
  isAlive,
  shimPidOf,
  waitGone,
} from './reliability-helpers.js';

const box: Sandbox = sandbox();
const mounts: string[] = [];
after(async () => {
  for (const root of mounts) {
    for (const container of (await Container.loadAll(root)).containers)
      await container.delete({ force: true }).catch(() => {});
    try {
      execFileSync('umount', [root]);
    } catch {
      execFileSync('umount', ['-l', root]);
    }
  }
  await box.cleanup();
});

const PAGE = 4096;

/** A fresh 512 kB tmpfs to serve as a state root. */
function tinyRoot(): string {
  const root = join(box.base, `tiny-${mounts.length}`);
  mkdirSync(root);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0711', 'tmpfs', root]);
  mounts.push(root);
  return root;
}

/**
 * Fills the file system of `root` with a file, to the last page, then gives
 * `freePages` pages back. Returns the file, to remove to make room again.
 */
function fillUp(root: string, freePages = 0): string {
  const path = join(root, `filler-${uniqueId()}`);
  const fd = openSync(path, 'w');
  try {
    const chunk = Buffer.alloc(PAGE);
    for (;;) {
      try {
        writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    assert.equal(freeBytes(root), 0, 'the disk is full');
    ftruncateSync(fd, Math.max(0, fstatSync(fd).size - freePages * PAGE));
  } finally {
    closeSync(fd);
  }
  return path;
}

function freeBytes(root: string): number {
  const stats = statfsSync(root);
  return stats.bavail * stats.bsize;
}

/**
 * Temporary files of berth's atomic writes left anywhere under `dir` (not the
 * one a running shim holds for its process's exit status).
 */
function temporaries(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) =>
    /\.tmp-/.test(name),
  );
}

/** "0-2 pages free: create refused, 3-5: ...": outcomes indexed by free pages, runs merged. */
function ranges(outcomes: readonly string[]): string {
  const parts: string[] = [];
  for (let from = 0; from < outcomes.length;) {
    let to = from;
    while (outcomes[to + 1] === outcomes[from]) to++;
    parts.push(`${from === to ? from : `${from}-${to}`} pages free: ${outcomes[from]}`);
    from = to + 1;
  }
  return parts.join(', ');
}

function isNoSpace(err: unknown): boolean {
  return err instanceof StateWriteError && err.errno === 'ENOSPC' && /ENOSPC/.test(err.message);
}

describe('a full disk', () => {
  test('create, run and exec are refused with StateWriteError (ENOSPC) and leave nothing', async () => {
    const root = tinyRoot();
    const bundle = box.bundle({ args: ['sh', '-c', 'exit 3'] });
    const waiting = await Container.create({ root, id: uniqueId('wait'), bundle });
    const running = await Container.create({
      root,
      id: uniqueId('run'),
      bundle: box.bundle({ args: ['sleep', '100'] }),
    });
    const init = await running.run();
    const filler = fillUp(root);

    const id = uniqueId('new');
    await assert.rejects(Container.create({ root, id, bundle }), isNoSpace);
    assert.ok(!readdirSync(root).includes(id), 'no folder for a refused create');

    await assert.rejects(waiting.run(), isNoSpace);
    await assertStartLeftNothing(waiting, 'run on a full disk');

    await assert.rejects(running.exec('e', { args: ['true'] }), isNoSpace);
    assert.deepEqual(readdirSync(running.dir).sort(), ['init', 'state.json']);
    assert.equal(init.state(), State.Running);
    assert.ok(isAlive(init.systemPid));
    assert.deepEqual(temporaries(root), [], 'temporary files left');

    // Room again: everything works.
    unlinkSync(filler);
    const started = await waiting.run();
    assert.equal(await started.wait(), 3);
    const exec = await running.exec('e', { args: ['sh', '-c', 'exit 4'] });
    assert.equal(await exec.wait(), 4);
    await waiting.delete();
    await running.delete({ force: true });
    assert.deepEqual(readdirSync(root), ['.runtime']);
  });

  test('page by page around full: each start works with whole records, or fails typed leaving nothing', async () => {
    const root = tinyRoot();
    // Records larger than a page: a write can be cut short by the disk, not just refused.
    const labels = Array.from({ length: 40 }, (_, i) => `label-${i}=${'l'.repeat(200)}`);
    const env = ['PATH=/bin', ...Array.from({ length: 40 }, (_, i) => `E${i}=${'e'.repeat(200)}`)];
    const bundle = box.bundle({ args: ['sh', '-c', 'exit 5'], env });
    const outcomes: string[] = [];
    for (let step = 0; step < 31 * SOAK_ROUNDS; step++) {
      const freePages = step % 31;
      const filler = fillUp(root, freePages);
      const id = uniqueId(`p${freePages}`);
      let container: Container;
      try {
        container = await Container.create({ root, id, bundle, labels });
      } catch (err) {
        assert.ok(isNoSpace(err), `create with ${freePages} pages free: ${String(err)}`);
        assert.ok(!readdirSync(root).includes(id));
        outcomes.push('create refused');
        unlinkSync(filler);
        continue;
      }
      // What was written reads back whole.
      const loaded = await Container.load(root, id);
      assert.deepEqual(loaded.labels, labels, `state.json with ${freePages} pages free`);
      loaded.close();
      try {
        const init = await container.run();
        assert.equal(await init.wait(), 5);
        await init.shimExited();
        const again = await Container.load(root, id);
        assert.deepEqual(again.process('init')!.spec.env, env);
        assert.equal(again.process('init')!.exitStatus(), 5);
        again.close();
        outcomes.push('ran');
      } catch (err) {
        assert.ok(err instanceof BerthError, `run with ${freePages} pages free: ${String(err)}`);
        assert.match(err.message, /ENOSPC|no space left/, 'the refusal says why');
        outcomes.push(`run refused (${err.code})`);
        await assertStartLeftNothing(container, `run with ${freePages} pages free`);
      }
      assert.deepEqual(temporaries(root), [], `temporary files with ${freePages} pages free`);
      await container.delete();
      unlinkSync(filler);
    }
    console.log(
      `# disk filled page by page: ${outcomes.length} starts; ${ranges(outcomes.slice(0, 31))}`,
    );
    assert.equal(outcomes[0], 'create refused', 'a full disk refuses the record');
    assert.equal(outcomes[30], 'ran', 'thirty pages are enough to run');
  });
});

describe('a disk that fills up while the process runs', () => {
  // Exits when told on its stdin (a FIFO: no disk space needed to say it).
  const exitWhenTold = ['sh', '-c', 'read line; exit 42'];

  test('the exit status is still recorded: the shim wrote it into space held since the start', async () => {
    const root = tinyRoot();
    const container = await Container.create({
      root,
      id: uniqueId('fill'),
      bundle: box.bundle({ args: exitWhenTold }),
    });
    const init = await container.run({ stdio: { stdin: 'pipe' } });
    const filler = fillUp(root);
    init.stdin!.end('exit now\n');
    assert.equal(await init.wait(), 42);
    assert.equal(readFileSync(join(init.dir, ExitStatusFile), 'utf8'), '42');
    container.close();
    const later = await Container.load(root, container.id);
    assert.equal(await later.process('init')!.wait(), 42, 'a later supervisor reads it');
    unlinkSync(filler);
    await later.delete();
  });

  test('when even that write fails: the live supervisor still gets the status, a later one 255', async () => {
    const root = tinyRoot();
    const container = await Container.create({
      root,
      id: uniqueId('nospace'),
      bundle: box.bundle({ args: exitWhenTold }),
    });
    const init = await container.run({ stdio: { stdin: 'pipe' } });
    // The held space is lost (as if the shim could not get it at its start).
    truncateSync(join(init.dir, `.${ExitStatusFile}.tmp`), 0);
    const logSize = statSync(join(init.dir, 'shim-log.json')).size;
    assert.ok(logSize % PAGE < PAGE - 300, 'the log has room in its last page for one more line');
    const filler = fillUp(root);
    const shim = shimPidOf(init);
    init.stdin!.end('exit now\n');
    assert.equal(await init.wait(), 42, 'reported on the exit FIFO');
    assert.ok(await waitGone(shim));
    assert.throws(() => readFileSync(join(init.dir, ExitStatusFile)), { code: 'ENOENT' });
    assert.match(
      readFileSync(join(init.dir, 'shim-log.json'), 'utf8'),
      /"level":"error","msg":"write exitStatus: No space left on device"/,
    );
    container.close();
    const later = await Container.load(root, container.id);
    assert.equal(await later.process('init')!.wait(), UnknownStatus);
    unlinkSync(filler);
    await later.delete();
    assert.deepEqual(readdirSync(root), ['.runtime']);
  });
});

describe('records torn on disk', () => {
  test('a torn process.json (init or exec): that container is CorruptStateError, the others load', async () => {
    // defects.test.ts covers a torn state.json; this is the process record.
    const root = join(box.base, 'torn-process');
    const make = async (prefix: string) => {
      const container = await Container.create({
        root,
        id: uniqueId(prefix),
        bundle: box.bundle({ args: ['sleep', '100'] }),
      });
      const init = await container.run();
      return { container, init };
    };
    const healthy = await make('ok');
    const tornInit = await make('init');
    const tornExec = await make('exec');
    const emptyExec = await make('empty');
    const exec = await tornExec.container.exec('e', { args: ['sleep', '100'] });
    const empty = await emptyExec.container.exec('e', { args: ['sleep', '100'] });
    const tornInitFile = join(tornInit.init.dir, ProcessFile);
    const whole = readFileSync(tornInitFile, 'utf8');
    writeFileSync(tornInitFile, whole.slice(0, whole.length / 2));
    writeFileSync(join(exec.dir, ProcessFile), '{"args":["sleep"');
    writeFileSync(join(empty.dir, ProcessFile), '');
    const all = [healthy, tornInit, tornExec, emptyExec];
    for (const { container } of all) container.close();

    const { containers, errors } = await Container.loadAll(root);
    assert.deepEqual(
      containers.map((c) => c.id),
      [healthy.container.id],
    );
    assert.deepEqual(
      errors.map((e) => e.id).sort(),
      [tornInit, tornExec, emptyExec].map((c) => c.container.id).sort(),
    );
    for (const { error } of errors) {
      assert.ok(error instanceof CorruptStateError, String(error));
      assert.match(error.path, /process\.json$/);
    }
    // Reported, not acted on: the broken containers' processes run on, their shims watching.
    for (const proc of [tornInit.init, exec, empty]) {
      assert.ok(isAlive(proc.systemPid), `${proc.dir} still runs`);
      shimPidOf(proc);
    }
    // Put right, they load and clean up as usual.
    writeFileSync(tornInitFile, whole);
    for (const proc of [exec, empty]) rmSync(join(proc.dir, ProcessFile));
    for (const c of containers) await c.delete({ force: true });
    for (const { container } of [tornInit, tornExec, emptyExec]) {
      const loaded = await Container.load(root, container.id);
      await loaded.delete({ force: true });
    }
    for (const proc of [exec, empty]) assert.ok(await waitGone(proc.systemPid));
    rmSync(root, { recursive: true, force: true });
  });
});
