/** Real containers on real runc: exit statuses, stdio, exec, signals, pause, pids, delete. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ContainerExitedError,
  ContainerRunningError,
  ExitStatusFile,
  InitProcessID,
  ProcessExistsError,
  ProcessNotExitedError,
  State,
} from '../../src/index.js';
import { cgroupPathsForPid } from '../../src/runtime/cgroups/paths.js';
import {
  fakeRuntime,
  freezerState,
  readAll,
  sandbox,
  type Sandbox,
  readUntil,
} from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

async function runToExit(
  args: string[],
): Promise<{ status: number; stdout: string; stderr: string }> {
  const container = await box.create({ args });
  const init = await container.start({ stdio: { stdout: 'pipe', stderr: 'pipe' } });
  const [stdout, stderr] = [readAll(init.stdout), readAll(init.stderr)];
  await init.start();
  const status = await init.wait();
  const result = { status, stdout: await stdout, stderr: await stderr };
  await container.delete();
  return result;
}

describe('init process', () => {
  test('exit status 0 and stdout', async () => {
    const result = await runToExit(['sh', '-c', 'echo hello']);
    assert.deepEqual(result, { status: 0, stdout: 'hello\n', stderr: '' });
  });

  test('exit status 7 and stderr apart from stdout', async () => {
    const result = await runToExit(['sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.deepEqual(result, { status: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  test('killed by a signal: 128+N, recorded in exitStatus', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.start();
    await init.start();
    assert.equal(init.state(), State.Running);
    assert.throws(() => init.exitStatus(), ProcessNotExitedError);
    await init.signal('SIGKILL');
    assert.equal(await init.wait(), 128 + 9);
    assert.equal(init.exitStatus(), 137);
    assert.equal(readFileSync(join(init.dir, ExitStatusFile), 'utf8').trim(), '137');
    await assert.rejects(init.signal('SIGTERM'), ContainerExitedError);
    await container.delete();
  });

  test('stdout larger than a pipe buffer arrives whole', async () => {
    const result = await runToExit([
      'sh',
      '-c',
      'i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done',
    ]);
    const lines = result.stdout.split('\n').filter(Boolean);
    assert.equal(result.status, 0);
    assert.equal(lines.length, 20000);
    assert.equal(lines[19999], 'line-19999');
  });

  test('stdio to files: output lands in the files, stdin read from a file', async () => {
    const dir = box.bundle();
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    const errors = join(dir, 'err.txt');
    writeFileSync(input, 'from a file\n');
    const container = await box.create({ args: ['sh', '-c', 'cat; echo oops >&2'] });
    const init = await container.start({ stdio: { stdin: input, stdout: output, stderr: errors } });
    assert.deepEqual(init.stdio, { stdin: input, stdout: output, stderr: errors });
    await init.start();
    assert.equal(await init.wait(), 0);
    assert.equal(readFileSync(output, 'utf8'), 'from a file\n');
    assert.equal(readFileSync(errors, 'utf8'), 'oops\n');
    await container.delete();
  });

  test('piped stdin: data reaches the process, closeStdin gives it EOF', async () => {
    const container = await box.create({ args: ['cat'] });
    const init = await container.start({ stdio: { stdin: 'pipe', stdout: 'pipe' } });
    const stdout = readAll(init.stdout);
    await init.start();
    init.stdin!.write('hello through a fifo\n');
    // Let the write land before the shim closes the process's stdin.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await init.closeStdin();
    assert.equal(await init.wait(), 0);
    assert.equal(await stdout, 'hello through a fifo\n');
    await container.delete();
  });

  test('ending the stdin stream also gives EOF', async () => {
    const container = await box.create({ args: ['sh', '-c', 'wc -c'] });
    const init = await container.start({ stdio: { stdin: 'pipe', stdout: 'pipe' } });
    const stdout = readAll(init.stdout);
    await init.start();
    init.stdin!.end('12345');
    assert.equal(await init.wait(), 0);
    assert.equal((await stdout).trim(), '5');
    await container.delete();
  });

  test('run(): created and started in one runtime call', async () => {
    const container = await box.create({ args: ['sh', '-c', 'echo ran; read line; exit 4'] });
    const init = await container.run({ stdio: { stdin: 'pipe', stdout: 'pipe' } });
    const stdout = readAll(init.stdout);
    assert.equal(await container.status(), 'running', 'running without process.start()');
    await init.start(); // A no-op: the runtime started it.
    init.stdin!.end('go\n');
    assert.equal(await init.wait(), 4);
    assert.equal(await stdout, 'ran\n');
    await assert.rejects(container.run(), ProcessExistsError);
    await container.delete();
  });

  test('a second start is refused', async () => {
    const container = await box.create({ args: ['true'] });
    const init = await container.start();
    await assert.rejects(container.start(), ProcessExistsError);
    await init.start();
    await init.wait();
    await container.delete();
  });
});

describe('a running container', () => {
  test('exec processes: own ids, exit codes, stdio; processes() and removeProcess()', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.start();
    await init.start();

    const first = await container.exec(
      'first',
      { args: ['sh', '-c', 'echo exec-out; echo exec-err >&2; exit 3'] },
      {
        stdio: { stdout: 'pipe', stderr: 'pipe' },
      },
    );
    const [out, err] = [readAll(first.stdout), readAll(first.stderr)];
    assert.equal(await first.wait(), 3);
    assert.equal(await out, 'exec-out\n');
    assert.equal(await err, 'exec-err\n');

    const second = await container.exec('second', { args: ['sh', '-c', 'kill -TERM $$'] });
    assert.equal(await second.wait(), 128 + 15);

    await assert.rejects(container.exec('first', { args: ['true'] }), ProcessExistsError);
    await assert.rejects(container.exec(InitProcessID, { args: ['true'] }), ProcessExistsError);

    assert.deepEqual(
      container.processes().map((p) => p.id),
      [InitProcessID, 'first', 'second'],
    );
    await assert.rejects(container.removeProcess(InitProcessID), ProcessNotExitedError);
    await container.removeProcess('first');
    assert.equal(existsSync(first.dir), false);
    assert.deepEqual(
      container.processes().map((p) => p.id),
      [InitProcessID, 'second'],
    );

    await assert.rejects(container.delete(), ContainerRunningError);
    await container.delete({ force: true });
    assert.equal(await init.wait(), 137);
    await assert.rejects(container.exec('late', { args: ['true'] }), ContainerExitedError);
  });

  test('exec inherits the container process env and cwd unless given', async () => {
    const container = await box.create({
      args: ['sleep', '100'],
      env: ['PATH=/bin', 'FROM_CONFIG=yes'],
      cwd: '/tmp',
    });
    const init = await container.start();
    await init.start();
    const inherited = await container.exec(
      'inherit',
      { args: ['sh', '-c', 'echo $FROM_CONFIG $(pwd)'] },
      {
        stdio: { stdout: 'pipe' },
      },
    );
    const own = await container.exec(
      'own',
      { args: ['sh', '-c', 'echo $FROM_CONFIG $(pwd)'], env: ['PATH=/bin'], cwd: '/' },
      {
        stdio: { stdout: 'pipe' },
      },
    );
    assert.equal(await readAll(inherited.stdout), 'yes /tmp\n');
    assert.equal(await readAll(own.stdout), '/\n');
    await container.delete({ force: true });
  });

  test('signal reaches the process', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.start();
    await init.start();
    const trap = await container.exec(
      'trap',
      {
        args: [
          'sh',
          '-c',
          'trap "echo got-usr1; exit 42" USR1; echo ready; while true; do sleep 0.05; done',
        ],
      },
      { stdio: { stdout: 'pipe' } },
    );
    await readUntil(trap.stdout!, /ready/);
    await trap.signal('SIGUSR1');
    assert.equal(await trap.wait(), 42);
    await container.delete({ force: true });
  });

  test('pause and resume: state() and status() agree with the runtime and the freezer', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.start();
    assert.equal(await container.status(), 'created');
    await init.start();
    assert.equal(container.state(), State.Running);
    assert.equal(await container.status(), 'running');

    await container.pause();
    assert.equal(container.state(), State.Paused);
    assert.equal(await container.status(), 'paused');
    assert.equal(freezerState(init.systemPid), 'FROZEN');

    await container.resume();
    assert.equal(container.state(), State.Running);
    assert.equal(await container.status(), 'running');
    assert.equal(freezerState(init.systemPid), 'THAWED');

    await init.signal('SIGKILL');
    await init.wait();
    assert.equal(container.state(), State.Stopped);
    await assert.rejects(container.pause(), ContainerExitedError);
    await container.delete();
  });

  test('pids() lists what `runc ps` lists', async () => {
    const container = await box.create({ args: ['sh', '-c', 'sleep 100 & sleep 100 & wait'] });
    const init = await container.start();
    await init.start();
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length < 3; i++) {
      pids = await container.pids();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const fromRunc = (
      JSON.parse(
        execFileSync('runc', [...container.runtimeArgs, 'ps', '--format', 'json', container.id], {
          encoding: 'utf8',
        }),
      ) as number[]
    ).sort((a, b) => a - b);
    assert.equal(pids.length, 3);
    assert.deepEqual(pids, fromRunc);
    assert.ok(pids.includes(init.systemPid));
    await container.delete({ force: true });
    await assert.rejects(container.pids(), ContainerExitedError);
  });

  test('no descriptor leaks: a full lifecycle leaves this process with the descriptors it had', async () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    const cycle = async () => {
      const container = await box.create({ args: ['sh', '-c', 'cat; sleep 100'] });
      const init = await container.start({
        stdio: { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' },
      });
      await init.start();
      init.stdin!.end('x');
      await readUntil(init.stdout!, /x/);
      const exec = await container.exec('e', { args: ['true'] }, { stdio: { stdout: 'pipe' } });
      await exec.wait();
      await container.stats();
      await container.pids();
      const oom = await container.oom();
      oom.close();
      await container.delete({ force: true });
    };
    await cycle(); // Warm up: lazily opened things (the rootfs check, libuv's own) count once.
    const before = openFds();
    for (let i = 0; i < 3; i++) await cycle();
    // Stream sockets are closed on the next turns of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(openFds(), before);
  });

  test('delete leaves no folder, runtime state or process behind', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.start();
    await init.start();
    const exec = await container.exec('e1', { args: ['sleep', '100'] });
    const pids = [init.systemPid, exec.systemPid];
    await container.delete({ force: true });
    assert.equal(existsSync(container.dir), false);
    const runcIds = execFileSync('runc', [...container.runtimeArgs, 'list', '-q'], {
      encoding: 'utf8',
    }).split('\n');
    assert.equal(runcIds.includes(container.id), false);
    for (const pid of pids)
      assert.equal(existsSync(`/proc/${pid}`), false, `pid ${pid} still exists`);
  });

  /** The container's cgroup folders in the v1 hierarchies (those runc makes for it on this machine). */
  function cgroupDirs(pid: number): string[] {
    return [...new Set(cgroupPathsForPid(pid).v1.values())];
  }

  function runtimeIds(container: { runtimeArgs: readonly string[] }): string[] {
    return execFileSync('runc', [...container.runtimeArgs, 'list', '-q'], {
      encoding: 'utf8',
    }).split('\n');
  }

  test('after a normal exit the init shim deletes the runtime container and says so; delete() removes the rest', async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.run();
    const dirs = cgroupDirs(init.systemPid);
    assert.ok(dirs.length > 0);
    assert.equal(init.runtimeDeleted, false);
    await init.signal('SIGKILL');
    assert.equal(await init.wait(), 137);
    await init.shimExited();
    assert.equal(init.runtimeDeleted, true);
    // The shim's delete alone removed the runtime's state and cgroups.
    assert.equal(runtimeIds(container).includes(container.id), false);
    for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} still exists`);
    await container.delete();
    assert.equal(existsSync(container.dir), false);
  });

  test("when the shim's runtime delete fails, delete() asks the runtime itself and sweeps the cgroups", async () => {
    const container = await box.create(
      { args: ['sleep', '100'] },
      { runtime: fakeRuntime('refusing-delete-runtime') },
    );
    const init = await container.run();
    const dirs = cgroupDirs(init.systemPid);
    await init.signal('SIGKILL');
    assert.equal(await init.wait(), 137);
    await init.shimExited();
    assert.equal(init.runtimeDeleted, false);
    assert.equal(runtimeIds(container).includes(container.id), true, 'the refused delete left it');
    await container.delete();
    assert.equal(runtimeIds(container).includes(container.id), false);
    for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} still exists`);
    assert.equal(existsSync(container.dir), false);
  });
});
