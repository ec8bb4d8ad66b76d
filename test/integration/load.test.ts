/** Load after the supervising process is gone: running, exited meanwhile, dead shims, PID reuse. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Container,
  ExitStatusFile,
  StartTimeFile,
  State,
  UnknownStatus,
  type ContainerProcess,
} from '../../src/index.js';
import { processesUnder, sandbox, type Sandbox } from '../helpers/env.js';

const loadChild = fileURLToPath(new URL('../helpers/load-child.js', import.meta.url));

interface Seen {
  id: string;
  state: string;
  processes: Array<{ id: string; state: string; pid: number; exitStatus: number | null }>;
}

const box: Sandbox = sandbox();
after(async () => {
  // Our own handles were closed to play a supervisor that went away: load afresh to clean up.
  for (const container of (await Container.loadAll(box.root)).containers)
    await container.delete({ force: true });
  await box.cleanup();
});

/** The shim of a process runs in its process folder; nothing else does. */
function shimPidOf(process: ContainerProcess): number {
  const [pid, ...others] = processesUnder(process.dir);
  assert.ok(pid !== undefined && others.length === 0, `one shim expected in ${process.dir}`);
  return pid;
}

async function waitGone(pid: number): Promise<void> {
  for (
    let i = 0;
    i < 400 &&
    existsSync(`/proc/${pid}/stat`) &&
    !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
    i++
  ) {
    await sleep(5);
  }
}

test('a fresh Node process loads running, exited and shim-killed containers', async () => {
  const start = async (args: string[]) => {
    const container = await box.create({ args });
    const init = await container.start();
    await init.start();
    return { container, init };
  };
  const running = await start(['sleep', '100']);
  const runningExec = await running.container.exec('e1', { args: ['sleep', '100'] });
  const exitsMeanwhile = await start(['sh', '-c', 'sleep 0.3; exit 5']);
  const shimKilled = await start(['sleep', '100']);
  const reuseHost = await start(['sleep', '100']);
  const pidReused = {
    container: reuseHost.container,
    init: await reuseHost.container.exec('e2', { args: ['sleep', '100'] }),
  };
  const vanished = await start(['sleep', '100']);

  // The first supervisor goes away.
  for (const { container } of [running, exitsMeanwhile, shimKilled, reuseHost, vanished])
    container.close();

  await sleep(600);
  assert.equal(readFileSync(join(exitsMeanwhile.init.dir, ExitStatusFile), 'utf8').trim(), '5');

  for (const victim of [shimKilled, pidReused, vanished]) {
    const shim = shimPidOf(victim.init);
    process.kill(shim, 'SIGKILL');
    await waitGone(shim);
  }
  // The exec's PID now "belongs to another process": its recorded start time no longer matches.
  writeFileSync(join(pidReused.init.dir, StartTimeFile), '1');
  process.kill(vanished.init.systemPid, 'SIGKILL');
  await waitGone(vanished.init.systemPid);

  const output = execFileSync(process.execPath, [loadChild, box.root], { encoding: 'utf8' });
  const seen = new Map((JSON.parse(output) as Seen[]).map((c) => [c.id, c]));

  const r = seen.get(running.container.id)!;
  assert.equal(r.state, State.Running);
  assert.deepEqual(
    r.processes.map((p) => [p.id, p.state, p.pid, p.exitStatus]),
    [
      ['init', State.Running, running.init.systemPid, null],
      ['e1', State.Running, runningExec.systemPid, null],
    ],
  );

  const e = seen.get(exitsMeanwhile.container.id)!;
  assert.equal(e.state, State.Stopped);
  assert.equal(e.processes[0]?.exitStatus, 5);

  const k = seen.get(shimKilled.container.id)!;
  assert.equal(k.state, State.Stopped);
  assert.equal(k.processes[0]?.exitStatus, 128 + 9);
  assert.equal(readFileSync(join(shimKilled.init.dir, ExitStatusFile), 'utf8').trim(), '137');
  await waitGone(shimKilled.init.systemPid);
  assert.ok(
    !existsSync(`/proc/${shimKilled.init.systemPid}/cwd`),
    'an unsupervised process must be killed',
  );

  const p = seen.get(pidReused.container.id)!;
  assert.equal(p.state, State.Running);
  assert.deepEqual(
    p.processes.map((q) => [q.id, q.exitStatus]),
    [
      ['init', null],
      ['e2', UnknownStatus],
    ],
  );
  // Not ours any more by starttime, so it was left alone.
  assert.ok(
    existsSync(`/proc/${pidReused.init.systemPid}/cwd`),
    'a PID that was reused must not be killed',
  );
  process.kill(pidReused.init.systemPid, 'SIGKILL');

  const v = seen.get(vanished.container.id)!;
  assert.equal(v.processes[0]?.exitStatus, UnknownStatus);

  // The still-running container is fully usable from a new handle.
  const reloaded = await Container.load(box.root, running.container.id);
  const init = reloaded.process('init')!;
  assert.equal(reloaded.state(), State.Running);
  await init.signal('SIGKILL');
  assert.equal(await init.wait(), 137);
  reloaded.close();
});
