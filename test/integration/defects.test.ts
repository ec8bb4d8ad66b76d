/**
 * Defects found when the library was tried from outside (issue 7), each kept
 * as the test that failed before its fix.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortError,
  Container,
  ContainerExitedError,
  ContainerNotStartedError,
  ContainerStartTimeoutError,
  CorruptStateError,
  ProcessExitedError,
  RuntimeError,
  State,
} from '../../src/index.js';
import {
  assertNothingLeft,
  fakeRuntime,
  readAll,
  sandbox,
  uniqueId,
  type Sandbox,
} from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

/** Every cgroup folder named `id` in any hierarchy, a few levels deep. */
function cgroupsNamed(id: string): string[] {
  const out = execFileSync(
    'find',
    ['/sys/fs/cgroup', '-maxdepth', '5', '-type', 'd', '-name', id],
    {
      encoding: 'utf8',
    },
  );
  return out.split('\n').filter(Boolean);
}

function isAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
  } catch {
    return false;
  }
}

describe('1. a failed start never touches a namesake it did not create', () => {
  test('two roots, one id: each root has its own runtime state; a refused run leaves the other running', async () => {
    const id = uniqueId('twin');
    const rootA = join(box.base, 'root-a');
    const rootB = join(box.base, 'root-b');
    const a = await Container.create({
      root: rootA,
      id,
      bundle: box.bundle({ args: ['sleep', '100'] }),
    });
    const b = await Container.create({
      root: rootB,
      id,
      bundle: box.bundle({ args: ['sleep', '100'], cgroupsPath: `/berth-test/${id}-b` }),
    });
    const c = await Container.create({
      root: join(box.base, 'root-c'),
      id,
      bundle: box.bundle({ args: ['true'] }),
      // Forced into A's runtime state: the runtime refuses the id.
      runtimeArgs: [...a.runtimeArgs],
    });
    try {
      assert.notDeepEqual(a.runtimeArgs, b.runtimeArgs, 'each root its own runtime root');
      const initA = await a.run();
      const initB = await b.run();
      assert.equal(initB.state(), State.Running, 'the same id runs in a second root');
      await assert.rejects(
        c.run(),
        (err: unknown) => err instanceof RuntimeError && /already exists/.test(err.message),
      );
      await sleep(200);
      assert.equal(initA.state(), State.Running, "root A's container was not killed");
      assert.ok(isAlive(initA.systemPid));
      assert.equal(await a.status(), 'running');
    } finally {
      for (const container of [c, b, a]) await container.delete({ force: true });
    }
    for (const [root, container] of [
      [rootA, a],
      [rootB, b],
    ] as const)
      assertNothingLeft(root, [container.id]);
  });
});

describe('2. every runtime call is bounded', () => {
  test('a runtime that hangs on everything: run() and start() settle with ContainerStartTimeoutError near the timeout', async (t) => {
    const pidFile = join(box.base, 'hung-pids');
    process.env.BERTH_HANG_ON = 'create run state delete';
    process.env.BERTH_HANG_PIDFILE = pidFile;
    const container = await box.create(
      { args: ['sleep', '100'] },
      { runtime: fakeRuntime('hang-on-runtime'), timeout: 500 },
    );
    try {
      // Each form its own subtest: one failing does not hide the other.
      for (const how of ['run', 'start'] as const)
        await t.test(`${how}()`, async () => {
          const began = Date.now();
          await assert.rejects(container[how](), ContainerStartTimeoutError);
          const elapsed = Date.now() - began;
          assert.ok(elapsed >= 450 && elapsed < 3000, `settled after ${elapsed} ms`);
          assert.deepEqual(readdirSync(container.dir), ['state.json']);
        });
    } finally {
      delete process.env.BERTH_HANG_ON;
      delete process.env.BERTH_HANG_PIDFILE;
    }
    // Everything the starts spawned (the hung runtimes, the hung `state` of the cleanup) is gone.
    const hung = readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number);
    assert.ok(hung.length >= 3, `hung runtimes recorded: ${hung.join(' ')}`);
    await sleep(100);
    assert.deepEqual(
      hung.filter((pid) => isAlive(pid)),
      [],
      'hung runtime processes killed',
    );
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });

  test('pause, resume, update, status and delete honour an AbortSignal', async (t) => {
    const pidFile = join(box.base, 'hung-pause');
    const container = await box.create(
      { args: ['sleep', '100'] },
      { runtime: fakeRuntime('hang-on-runtime') },
    );
    const init = await container.run();
    process.env.BERTH_HANG_ON = 'pause resume update state';
    process.env.BERTH_HANG_PIDFILE = pidFile;
    try {
      for (const [name, call] of [
        ['pause', (signal: AbortSignal) => container.pause({ signal })],
        ['resume', (signal: AbortSignal) => container.resume({ signal })],
        [
          'update',
          (signal: AbortSignal) => container.updateResources({ cpuShares: 512 }, { signal }),
        ],
        ['status', (signal: AbortSignal) => container.status({ signal })],
      ] as const)
        await t.test(`${name}()`, async () => {
          const began = Date.now();
          await assert.rejects(call(AbortSignal.timeout(200)), AbortError);
          assert.ok(Date.now() - began < 1500);
        });
    } finally {
      delete process.env.BERTH_HANG_ON;
      delete process.env.BERTH_HANG_PIDFILE;
    }
    await sleep(100);
    const hung = readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number);
    assert.equal(hung.length, 4);
    assert.deepEqual(
      hung.filter((pid) => isAlive(pid)),
      [],
    );
    assert.equal(init.state(), State.Running);
    await container.delete({ force: true });
  });
});

describe('3. aborted and timed-out starts leave no cgroup', () => {
  test('starts of real runc cut 5-60 ms in: no cgroup folder named after the container', async () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const container = await box.create({ args: ['sleep', '100'] });
      const cutAfter = 5 + ((attempt * 5) % 56);
      const started =
        attempt % 2
          ? container.run({ signal: AbortSignal.timeout(cutAfter) })
          : container.start({ signal: AbortSignal.timeout(cutAfter) });
      const outcome = await started.then(
        () => 'started',
        (err: unknown) => (err instanceof AbortError ? 'aborted' : String(err)),
      );
      assert.ok(['started', 'aborted'].includes(outcome), outcome);
      if (outcome === 'aborted') {
        assert.deepEqual(
          cgroupsNamed(container.id),
          [],
          `attempt ${attempt}, cut after ${cutAfter} ms`,
        );
      }
      await container.delete({ force: true });
      assert.deepEqual(cgroupsNamed(container.id), [], `after delete, attempt ${attempt}`);
    }
  });
});

describe('4. one broken entry does not block recovery', () => {
  test('loadAll skips strays, loads the healthy, reports the broken with a typed error', async () => {
    const root = join(box.base, 'root-load');
    const healthy = await Container.create({ root, id: uniqueId('ok'), bundle: box.bundle() });
    const emptyOne = await Container.create({ root, id: uniqueId('empty'), bundle: box.bundle() });
    const tornOne = await Container.create({ root, id: uniqueId('torn'), bundle: box.bundle() });
    writeFileSync(join(root, 'events.log'), '{"type":"exit"}\n');
    writeFileSync(join(emptyOne.dir, 'state.json'), '');
    writeFileSync(join(tornOne.dir, 'state.json'), '{"bundle":"/x","labels":[');
    const { containers, errors } = await Container.loadAll(root);
    assert.deepEqual(
      containers.map((c) => c.id),
      [healthy.id],
    );
    assert.deepEqual(errors.map((e) => e.id).sort(), [emptyOne.id, tornOne.id].sort());
    for (const { error } of errors) {
      assert.ok(error instanceof CorruptStateError);
      assert.equal(error.code, 'ERR_CORRUPT_STATE');
    }
    await assert.rejects(Container.load(root, tornOne.id), CorruptStateError);
    for (const c of containers) c.close();
    await healthy.delete();
    rmSync(root, { recursive: true, force: true });
  });
});

describe('5. output lost to a reader that stopped reading is reported', () => {
  test('a piped stdout nobody reads: the status still arrives, lostOutput names the stream', async () => {
    // (A slow reader that does read loses nothing: drain.test.ts.)
    // A FIFO of the caller's that is opened and never read. The process writes less than
    // the pipe, the shim and the FIFO hold together, so it can exit with output pending (a
    // reader that never reads makes a process that writes more wait, as a pipe would).
    const written = 120_000;
    const fifo = join(box.base, 'never-read');
    execFileSync('mkfifo', [fifo]);
    const readerFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const container = await box.create({ args: ['head', '-c', String(written), '/dev/zero'] });
    try {
      const init = await container.run({ stdio: { stdout: fifo }, drainTimeout: 300 });
      assert.equal(await init.wait(), 0);
      assert.deepEqual(init.lostOutput, ['stdout']);
    } finally {
      closeSync(readerFd);
    }
    await container.delete();

    const whole = await box.create({ args: ['sh', '-c', 'echo all of it'] });
    const read = await whole.run({ stdio: { stdout: 'pipe' }, drainTimeout: 300 });
    const [status, text] = await Promise.all([read.wait(), readAll(read.stdout)]);
    assert.equal(status, 0);
    assert.deepEqual(read.lostOutput, []);
    assert.equal(text, 'all of it\n');
    await whole.delete();
  });
});

describe('6. a stdin writer is released once the process is gone', () => {
  test('writes to the stdin of `head -c 100` fail with EPIPE after it exits', async () => {
    const container = await box.create({ args: ['head', '-c', '100'] });
    const init = await container.run({ stdio: { stdin: 'pipe', stdout: 'pipe' } });
    init.stdout!.resume();
    const released = new Promise<string>((resolve) => {
      init.stdin!.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      init.stdin!.on('close', () => resolve('close'));
    });
    const chunk = Buffer.alloc(4096, 'x');
    const writer = (async () => {
      for (let i = 0; i < 2000 && !init.stdin!.destroyed; i++) {
        if (!init.stdin!.write(chunk)) await sleep(5);
      }
    })();
    assert.equal(await init.wait(), 0);
    const outcome = await Promise.race([released, sleep(5000, 'still blocked')]);
    assert.ok(outcome === 'EPIPE' || outcome === 'close', `writer: ${outcome}`);
    await writer;
    await container.delete();
  });
});

describe('7. after exit, every process call says so', () => {
  test('signal, resize and closeStdin throw the same typed error once wait() resolved', async () => {
    const container = await box.create({ args: ['sleep', '100'], terminal: false });
    const init = await container.run();
    const exec = await container.exec('short', { args: ['true'] });
    assert.equal(await exec.wait(), 0);
    await assert.rejects(exec.signal('SIGTERM'), ProcessExitedError);
    await assert.rejects(exec.resize(80, 24), ProcessExitedError);
    await assert.rejects(exec.closeStdin(), ProcessExitedError);
    await init.signal('SIGKILL');
    assert.equal(await init.wait(), 137);
    await assert.rejects(init.signal('SIGTERM'), ContainerExitedError);
    await assert.rejects(init.resize(80, 24), ContainerExitedError);
    await assert.rejects(init.closeStdin(), ContainerExitedError);
    await container.delete();
  });

  test('a created, not started container: exec and pause are ContainerNotStartedError; signal still works', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.start();
    assert.equal(init.started, false);
    await assert.rejects(container.exec('e', { args: ['true'] }), ContainerNotStartedError);
    await assert.rejects(container.pause(), ContainerNotStartedError);
    await assert.rejects(container.updateResources({ cpuShares: 512 }), ContainerNotStartedError);
    await init.signal('SIGKILL');
    assert.equal(await init.wait(), 137);
    await container.delete();
    assert.equal(existsSync(container.dir), false);
  });
});

describe('uint64 values in a bundle', () => {
  test('an rlimit of 2^64-1 (unlimited) reaches init and every exec exactly', async () => {
    const bundle = box.bundle({ args: ['sleep', '100'] });
    const configPath = join(bundle, 'config.json');
    // Written as text: a JSON number this large does not survive a double.
    writeFileSync(
      configPath,
      readFileSync(configPath, 'utf8').replace(
        '"rlimits": [',
        '"rlimits": [{ "type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 18446744073709551615 },',
      ),
    );
    const container = await Container.create({ root: box.root, id: uniqueId('u64'), bundle });
    const init = await container.run();
    const exec = await container.exec(
      'limits',
      { args: ['sh', '-c', 'ulimit -c'] },
      { stdio: { stdout: 'pipe' } },
    );
    const [status, output] = await Promise.all([exec.wait(), readAll(exec.stdout)]);
    assert.equal(status, 0);
    assert.equal(output.trim(), 'unlimited');
    assert.match(
      readFileSync(join(init.dir, 'process.json'), 'utf8'),
      /"hard":18446744073709551615/,
    );
    await container.delete({ force: true });
  });
});

describe('closeStdin after a write', () => {
  test('what was written before closeStdin still reaches the process, then EOF', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    await container.run();
    const fifo = join(box.base, 'stdin-then-close');
    execFileSync('mkfifo', [fifo]);
    // A client's own FIFO, as ctr uses it: held open for writing while it writes, then CloseStdin.
    const holder = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    // It reads nothing for a moment: the pipe, the shim's buffer and then the FIFO fill up.
    const exec = await container.exec(
      'cat',
      { args: ['sh', '-c', 'sleep 0.5; cat'] },
      { stdio: { stdin: fifo, stdout: 'pipe' } },
    );
    const output = readAll(exec.stdout);
    // Less than the three hold together (64 + 8 + 64 kB), so the write completes.
    const text = 'line one\nline two\n'.repeat(6500);
    writeFileSync(fifo, text);
    await exec.closeStdin();
    assert.equal(await exec.wait(), 0);
    assert.equal(await output, text);
    closeSync(holder);
    await container.delete({ force: true });
  });
});

/** Runs `body` with `vars` set in the environment (the shim and the runtime inherit it). */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.keys(vars).map((name) => [name, process.env[name]] as const);
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Resolves 'ended' once the stream emits 'end' or 'close'. */
function ended(stream: NodeJS.ReadableStream): Promise<'ended'> {
  return new Promise((resolve) => {
    stream.once('end', () => resolve('ended'));
    stream.once('close', () => resolve('ended'));
  });
}

describe('issue 14: forced deletes, runtime words, deletes after a hung start', () => {
  test('1. force-delete while init and an exec write to piped stdouts nobody reads: prompt, 137, streams end', async () => {
    const container = await box.create({ args: ['yes', 'x'.repeat(200)] });
    const init = await container.run({ stdio: { stdout: 'pipe' } });
    const exec = await container.exec(
      'chatty',
      { args: ['sh', '-c', 'while :; do echo yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy; done'] },
      { stdio: { stdout: 'pipe', stderr: 'pipe' } },
    );
    const streamsEnded = Promise.all([init.stdout!, exec.stdout!, exec.stderr!].map(ended));
    // Long enough for the pipes, the shims' buffers and the FIFOs to fill up.
    await sleep(300);
    const began = Date.now();
    await container.delete({ force: true });
    const ms = Date.now() - began;
    console.log(`# force delete with unread piped output: ${ms} ms`);
    assert.ok(ms < 1500, `delete took ${ms} ms`);
    assert.equal(init.exitStatus(), 137);
    assert.equal(exec.exitStatus(), 137);
    assert.equal(await init.wait(), 137);
    const outcome = await Promise.race([streamsEnded.then(() => 'ended'), sleep(2000, 'hang')]);
    assert.equal(outcome, 'ended');
    assertNothingLeft(box.root, [container.id]);
  });

  describe('2. a runtime that fails with words on its stderr only', () => {
    const runtime = fakeRuntime('muttering-runtime');
    const cases = [
      { how: 'run', stderr: undefined },
      { how: 'start', stderr: 'pipe' },
      { how: 'run', stderr: 'file' },
      { how: 'start', stderr: 'terminal' },
    ] as const;
    for (const { how, stderr } of cases) {
      test(`${how}() with stderr ${stderr ?? 'default'}: RuntimeError quoting the last lines`, async (t) => {
        const container = await box.create(
          { args: ['sleep', '100'], terminal: stderr === 'terminal' },
          { runtime },
        );
        const stdio =
          stderr === 'pipe'
            ? { stderr: 'pipe' }
            : stderr === 'file'
              ? { stderr: join(box.base, `${container.id}.err`) }
              : {};
        for (const lines of [1, 400])
          await t.test(`${lines} line(s)`, async () => {
            const err = await withEnv({ BERTH_FAIL_LINES: String(lines) }, () =>
              container[how]({ stdio }).then(
                () => assert.fail('the start succeeded'),
                (e: unknown) => e,
              ),
            );
            assert.ok(err instanceof RuntimeError, `${lines} lines: ${String(err)}`);
            assert.match(err.message, new RegExp(`boom ${lines} of ${lines}: the runtime broke$`));
            assert.ok(err.message.length < 1100, `bounded: ${err.message.length} chars`);
            if (lines > 1) {
              assert.doesNotMatch(err.message, /boom 1 of/, 'the first lines are dropped');
              assert.match(err.message, new RegExp(`boom ${lines - 1} of ${lines}`));
            }
            assert.deepEqual(readdirSync(container.dir), ['state.json']);
          });
        await container.delete();
        assertNothingLeft(box.root, [container.id]);
      });
    }

    test('exec() with a piped stderr: RuntimeError quoting them; on /dev/null they are lost', async () => {
      const container = await box.create({ args: ['sleep', '100'] }, { runtime });
      await withEnv({ BERTH_FAIL_ON: 'none' }, () => container.run());
      await withEnv({ BERTH_FAIL_ON: 'exec', BERTH_FAIL_LINES: '3' }, async () => {
        const spec = { args: ['true'] };
        await assert.rejects(
          container.exec('piped', spec, { stdio: { stderr: 'pipe' } }),
          (err: unknown) =>
            err instanceof RuntimeError &&
            /exec: boom 1 of 3: the runtime broke; .*boom 3 of 3: the runtime broke$/.test(
              err.message,
            ),
        );
        // An exec keeps /dev/null: a pipe would fail a child it leaves behind once its shim exits.
        await assert.rejects(container.exec('quiet', spec), ContainerNotStartedError);
      });
      assert.deepEqual(
        container.processes().map((p) => p.id),
        ['init'],
      );
      await container.delete({ force: true });
      assertNothingLeft(box.root, [container.id]);
    });

    test('calls the library runs itself (pause, status): RuntimeError quoting the last lines', async (t) => {
      const container = await box.create({ args: ['sleep', '100'] }, { runtime });
      await withEnv({ BERTH_FAIL_ON: 'none' }, () => container.run());
      await withEnv({ BERTH_FAIL_ON: 'pause state', BERTH_FAIL_LINES: '400' }, async () => {
        for (const how of ['pause', 'status'] as const)
          await t.test(`${how}()`, async () => {
            const err = await container[how]().then(
              () => assert.fail('the call succeeded'),
              (e: unknown) => e,
            );
            assert.ok(err instanceof RuntimeError, String(err));
            assert.match(err.message, /boom 400 of 400: the runtime broke$/);
            assert.match(err.message, /boom 399 of 400/);
            assert.doesNotMatch(err.message, /boom 1 of/);
            assert.ok(err.message.length < 1100, `bounded: ${err.message.length} chars`);
            assert.equal(err.exitCode, 1);
          });
      });
      await container.delete({ force: true });
      assertNothingLeft(box.root, [container.id]);
    });
  });

  test('a start that lost the race to an init exiting at once (runc: remove exec.fifo: no such file) started it', async () => {
    const container = await box.create(
      { args: ['sh', '-c', 'exit 7'] },
      { runtime: fakeRuntime('racing-start-runtime') },
    );
    const init = await container.start();
    await init.start();
    assert.equal(await init.wait(), 7);
    await container.delete();
    assertNothingLeft(box.root, [container.id]);
  });

  test('3. delete() after a start that timed out on a hanging runtime does not ask the runtime again', async (t) => {
    // The fixture hangs on create only; the second runtime hangs on everything but start.
    const runtimes = [
      { name: 'hanging-runtime', hangOn: '' },
      { name: 'hang-on-runtime', hangOn: 'create state delete' },
    ];
    for (const { name, hangOn } of runtimes)
      await t.test(name, async () => {
        const container = await box.create(
          { args: ['sleep', '100'] },
          { runtime: fakeRuntime(name), timeout: 500 },
        );
        await withEnv({ BERTH_HANG_ON: hangOn }, async () => {
          await assert.rejects(container.start(), ContainerStartTimeoutError);
          const began = Date.now();
          await container.delete();
          const ms = Date.now() - began;
          console.log(`# ${name}: delete after a timed-out start: ${ms} ms`);
          assert.ok(ms < 500, `${name}: delete took ${ms} ms`);
        });
        assertNothingLeft(box.root, [container.id]);
      });
  });
});
