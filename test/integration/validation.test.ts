/** Bad input and failing runtimes: typed errors, and nothing left behind. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  AbortError,
  BinaryNotFoundError,
  BundleNotFoundError,
  Container,
  ContainerExistsError,
  ContainerNotFoundError,
  ContainerStartTimeoutError,
  InvalidArgumentError,
  InvalidBundleConfigError,
  InvalidIdError,
  RuntimeError,
  ShimError,
  ShimExitedError,
} from '../../src/index.js';
import { assertNothingLeft, sandbox, uniqueId, type Sandbox, fakeRuntime } from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

function rootEntries(): string[] {
  try {
    return readdirSync(box.root)
      .filter((name) => name !== '.runtime')
      .sort();
  } catch {
    return [];
  }
}

describe('refused before anything is created', () => {
  // Invalid container ids: each refused before anything is made.
  const badIds: unknown[] = [
    '',
    '.',
    '..',
    '../escape',
    'a/b',
    '-flag',
    '.hidden',
    'x'.repeat(65),
    'sp ace',
    'nul\0',
    'é',
    42,
    null,
  ];
  for (const id of badIds)
    test(`invalid container id ${JSON.stringify(id)?.slice(0, 20)}: InvalidIdError, nothing made`, async () => {
      await assert.rejects(
        Container.create({ root: box.root, id: id as string, bundle: box.bundle() }),
        (err: unknown) => err instanceof InvalidIdError && err.code === 'ERR_INVALID_ID',
        `id ${JSON.stringify(id)}`,
      );
      assert.deepEqual(rootEntries(), []);
    });

  test('the longest container id is accepted', async () => {
    const bundle = box.bundle();
    // The bounds themselves are accepted.
    const longest = `a${'b'.repeat(63)}`;
    const ok = await Container.create({ root: box.root, id: longest, bundle });
    await ok.delete();
  });

  test('bundle problems each have their own error', async () => {
    const missing = join(box.base, 'no-such-bundle');
    await assert.rejects(
      Container.create({ root: box.root, id: uniqueId(), bundle: missing }),
      BundleNotFoundError,
    );

    const empty = join(box.base, 'empty-bundle');
    mkdirSync(empty);
    await assert.rejects(
      Container.create({ root: box.root, id: uniqueId(), bundle: empty }),
      BundleNotFoundError,
    );

    const unreadable = join(box.base, 'unreadable-bundle');
    mkdirSync(join(unreadable, 'config.json'), { recursive: true });
    await assert.rejects(
      Container.create({ root: box.root, id: uniqueId(), bundle: unreadable }),
      InvalidBundleConfigError,
    );

    const invalid = join(box.base, 'invalid-bundle');
    mkdirSync(invalid);
    writeFileSync(join(invalid, 'config.json'), '{"process": ');
    await assert.rejects(
      Container.create({ root: box.root, id: uniqueId(), bundle: invalid }),
      (err: unknown) =>
        err instanceof InvalidBundleConfigError && /not valid JSON/.test(err.message),
    );

    const noArgs = box.bundle();
    const config = JSON.parse(readFileSync(join(noArgs, 'config.json'), 'utf8'));
    config.process.args = [];
    writeFileSync(join(noArgs, 'config.json'), JSON.stringify(config));
    await assert.rejects(
      Container.create({ root: box.root, id: uniqueId(), bundle: noArgs }),
      (err: unknown) =>
        err instanceof InvalidBundleConfigError && /process\.args/.test(err.message),
    );
    assert.deepEqual(rootEntries(), []);
  });

  test('a missing runtime or shim binary', async () => {
    const bundle = box.bundle();
    await assert.rejects(
      Container.create({ root: box.root, id: uniqueId(), bundle, runtime: 'no-such-runtime-here' }),
      BinaryNotFoundError,
    );
    await assert.rejects(
      Container.create({ root: box.root, id: uniqueId(), bundle, shim: '/nonexistent/berth-shim' }),
      BinaryNotFoundError,
    );
    assert.deepEqual(rootEntries(), []);
  });

  test('a duplicate id is refused and the original kept', async () => {
    const bundle = box.bundle();
    const id = uniqueId();
    const first = await Container.create({ root: box.root, id, bundle });
    await assert.rejects(Container.create({ root: box.root, id, bundle }), ContainerExistsError);
    assert.equal((await Container.load(box.root, id)).path, bundle);
    await first.delete();
    assert.deepEqual(rootEntries(), []);
  });

  test('loading an unknown container', async () => {
    await assert.rejects(Container.load(box.root, 'never-created'), ContainerNotFoundError);
    await assert.rejects(Container.load(box.root, '../etc'), InvalidIdError);
  });

  test('bad exec requests and bad stdio', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    await assert.rejects(
      container.start({ stdio: { stdout: 'relative/path' } }),
      InvalidArgumentError,
    );
    await assert.rejects(
      container.start({ checkpoint: '../x', checkpointDir: '/tmp' }),
      InvalidIdError,
    );
    assert.deepEqual(readdirSync(container.dir), ['state.json']);
    const init = await container.start();
    await init.start();
    await assert.rejects(container.exec('../up', { args: ['true'] }), InvalidIdError);
    await assert.rejects(container.exec('noargs', { args: [] }), InvalidArgumentError);
    await assert.rejects(
      container.exec('badio', { args: ['true'] }, { stdio: { stdin: 'x' } }),
      InvalidArgumentError,
    );
    assert.deepEqual(readdirSync(container.dir).sort(), ['init', 'state.json']);
    await container.delete({ force: true });
  });
});

describe('failures at start leave nothing behind', () => {
  test("the runtime's own message: a real runc refusal", async () => {
    const container = await box.create({ args: ['/nonexistent'] });
    await assert.rejects(
      container.start(),
      (err: unknown) =>
        err instanceof RuntimeError &&
        err.code === 'ERR_RUNTIME' &&
        /stat \/nonexistent: no such file or directory/.test(err.message),
    );
    assert.deepEqual(readdirSync(container.dir), ['state.json']);
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });

  test("the runtime's own message from its log: a failing runtime", async () => {
    const container = await box.create({}, { runtime: fakeRuntime('failing-runtime') });
    await assert.rejects(
      container.start(),
      (err: unknown) =>
        err instanceof RuntimeError && /fake failure: the runtime said no/.test(err.message),
    );
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });

  test('a runtime that hangs: ContainerStartTimeoutError after the timeout', async () => {
    const container = await box.create(
      { args: ['sleep', '100'] },
      { runtime: fakeRuntime('hanging-runtime'), timeout: 500 },
    );
    const started = Date.now();
    await assert.rejects(container.start(), ContainerStartTimeoutError);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 450 && elapsed < 5000, `timed out after ${elapsed} ms`);
    assert.deepEqual(readdirSync(container.dir), ['state.json']);
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });

  test('an AbortSignal stops a start that hangs', async () => {
    const container = await box.create(
      { args: ['sleep', '100'] },
      { runtime: fakeRuntime('hanging-runtime') },
    );
    await assert.rejects(container.start({ signal: AbortSignal.timeout(300) }), AbortError);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(container.start({ signal: aborted.signal }), AbortError);
    assert.deepEqual(readdirSync(container.dir), ['state.json']);
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });

  test('a stdout FIFO that nobody opens: a clear error before the start timeout', async () => {
    const fifo = join(box.base, 'nobody-reads');
    execFileSync('mkfifo', [fifo]);
    const container = await box.create({}, { timeout: 1000 });
    await assert.rejects(
      container.start({ stdio: { stdout: fifo } }),
      (err: unknown) =>
        err instanceof ShimError && /stdout FIFO .*no reader after 800 ms/.test(err.message),
    );
    assert.deepEqual(readdirSync(container.dir), ['state.json']);
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });

  test('a shim that dies before the process starts: ShimExitedError', async () => {
    const container = await box.create({}, { runtime: fakeRuntime('shim-killing-runtime') });
    await assert.rejects(container.start(), ShimExitedError);
    assert.deepEqual(readdirSync(container.dir), ['state.json']);
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });
});

describe('choice of runtime', () => {
  test('runtime and runtimeArgs reach every runtime call, in order', async () => {
    const record = join(box.base, 'runtime-calls.txt');
    rmSync(record, { force: true });
    process.env.BERTH_RECORD_FILE = record;
    try {
      const container = await box.create(
        { args: ['sleep', '100'] },
        { runtime: fakeRuntime('recording-runtime'), runtimeArgs: ['--fake-flag'] },
      );
      assert.equal(container.runtime, fakeRuntime('recording-runtime'));
      const init = await container.start();
      await init.start();
      const exec = await container.exec('e', { args: ['true'] });
      assert.equal(await exec.wait(), 0);
      await container.pause();
      await container.resume();
      await init.signal('SIGKILL');
      await init.wait();
      await container.delete();
      const calls = readFileSync(record, 'utf8').trim().split('\n');
      const dir = join(box.root, container.id);
      // Without a --root of the caller's, berth gives the runtime one per state root.
      const globalArgs = `--root ${box.root}/.runtime/recording-runtime --fake-flag`;
      assert.deepEqual(container.runtimeArgs, globalArgs.split(' '));
      const subcommands = calls.map((line) => {
        assert.ok(line.startsWith(`${globalArgs} `), `runtimeArgs first: ${line}`);
        return line
          .split(' ')
          .find((word) => ['create', 'start', 'exec', 'pause', 'resume', 'delete'].includes(word));
      });
      // One delete: the init's shim ran it after the exit and said it succeeded,
      // so container.delete() did not ask the runtime again.
      assert.equal(init.runtimeDeleted, true);
      assert.deepEqual(subcommands, ['create', 'start', 'exec', 'pause', 'resume', 'delete']);
      assert.equal(
        calls[0],
        `${globalArgs} --log ${dir}/init/log.json --log-format json create --bundle ${container.path} --pid-file ${dir}/init/pid ${container.id}`,
      );
      assert.equal(
        calls[2],
        `${globalArgs} --log ${dir}/e/log.json --log-format json exec -d --process ${dir}/e/process.json --pid-file ${dir}/e/pid ${container.id}`,
      );
    } finally {
      delete process.env.BERTH_RECORD_FILE;
    }
  });

  test("crun: runs the container where crun works, else fails with crun's own words", async (t) => {
    try {
      execFileSync('crun', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('crun is not installed');
      return;
    }
    // crun refuses a hybrid layout: cgroup v1 controllers beside a v2 mount that holds some.
    let hybrid = false;
    try {
      hybrid = readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== '';
    } catch {
      // No v2 mount beside v1: nothing for crun to refuse.
    }
    const crunWorks = !hybrid;
    const container = await box.create({ args: ['sh', '-c', 'exit 6'] }, { runtime: 'crun' });
    if (crunWorks) {
      const init = await container.run();
      assert.equal(await init.wait(), 6);
    } else {
      await assert.rejects(
        container.start(),
        (err: unknown) => err instanceof RuntimeError && /crun create: .*hybrid/.test(err.message),
      );
    }
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });
});
