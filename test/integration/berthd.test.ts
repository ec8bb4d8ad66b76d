/**
 * berthd end to end: the real daemon (dist's executable, a state dir and a
 * socket of its own), a grpc-js client on its unix socket, real runc and
 * busybox containers. Every RPC's happy path and main error; the socket's
 * mode; a second daemon on the same state dir refused; SIGTERM leaves the
 * containers running for the next daemon.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as GrpcStatus, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Container } from '../../src/index.js';
import type { Event } from '../../src/api/generated/berth.js';
import { packageVersion } from '../../src/api/version.js';
import { tempDir, writeBundle, type BundleOptions } from '../../support/busybox.js';
import { connect, healthCheck, type TestClient } from '../helpers/api-client.js';
import {
  createRequest,
  execRequest,
  killContainersThrough,
  waitFor,
} from '../helpers/berthd-load.js';
import {
  berthdPath,
  pidAlive,
  spawnBerthd,
  type BerthdProcess,
} from '../helpers/berthd-process.js';
import { fakeRuntime, processesUnder, runtimeIds, uniqueId } from '../helpers/env.js';

const base = tempDir('berthd-test-');
let bundles = 0;
const bundle = (opts: BundleOptions = {}) => writeBundle(join(base, `bundle-${++bundles}`), opts);

// ---- the daemon ----

interface Daemon extends BerthdProcess {
  stateDir: string;
  socket: string;
}

const daemons: Daemon[] = [];

/** Starts berthd with containerd v0.2.8's flags; resolves when it serves (or rejects with its words). */
async function startBerthd(
  stateDir: string,
  socket: string,
  extra: string[] = [],
): Promise<Daemon> {
  const flags = ['--runtime', 'runc', '--start-timeout', '15s', '--retain-count', '100'];
  flags.push('--debug', '--metrics-interval', '0', ...extra);
  let daemon!: Daemon;
  await spawnBerthd(stateDir, socket, flags, (started) => {
    daemon = { ...started, stateDir, socket };
    daemons.push(daemon);
  });
  return daemon;
}

const alive = pidAlive;

async function stopBerthd(daemon: Daemon, signal: NodeJS.Signals = 'SIGTERM') {
  if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) return daemon.exited;
  process.kill(daemon.pid, signal);
  return daemon.exited;
}

// ---- calls and events ----

async function rejectsWith(promise: Promise<unknown>, code: GrpcStatus, details?: RegExp) {
  await assert.rejects(promise, (err: ServiceError) => {
    assert.equal(
      err.code,
      code,
      `expected ${GrpcStatus[code]}, got ${GrpcStatus[err.code]}: ${err.details}`,
    );
    if (details) assert.match(err.details, details);
    return true;
  });
}

/** An Events stream read in steps. */
function events(stream: ClientReadableStream<Event>) {
  const seen: Event[] = [];
  let status: { code: GrpcStatus; details: string } | undefined;
  stream.on('data', (event: Event) => seen.push(event));
  stream.on('status', (s: { code: GrpcStatus; details: string }) => (status = s));
  stream.on('error', () => {});
  return {
    seen,
    get status() {
      return status;
    },
    async until(check: (events: Event[]) => boolean, what: string, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(seen)) {
        if (Date.now() > deadline || status)
          assert.fail(
            `${what}: ${JSON.stringify(brief(seen))} ${status ? JSON.stringify(status) : ''}`,
          );
        await sleep(20);
      }
      return seen;
    },
    async ended(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!status) {
        if (Date.now() > deadline) assert.fail('stream did not end');
        await sleep(20);
      }
      return status;
    },
    cancel: () => stream.cancel(),
  };
}

const brief = (list: Event[]) => list.map((e) => `${e.type}:${e.id}:${e.pid}:${e.status}`);
const has = (type: string, id: string, pid?: string, status?: number) => (list: Event[]) =>
  list.some(
    (e) =>
      e.type === type &&
      e.id === id &&
      (pid === undefined || e.pid === pid) &&
      (status === undefined || e.status === status),
  );

// ---- cleanup: only what these tests started ----

const stateDirs = new Set<string>();

after(async () => {
  for (const daemon of daemons) {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) {
      // Kill its containers through its own API, then stop it.
      await killContainersThrough(daemon.address);
      const stopped = await Promise.race([stopBerthd(daemon), sleep(10_000, 'timeout' as const)]);
      if (stopped === 'timeout') {
        process.kill(daemon.pid, 'SIGKILL');
        await daemon.exited;
      }
    }
  }
  // Whatever a failed test left: force-delete by the runtime library, then check.
  try {
    for (const stateDir of stateDirs) {
      if (!existsSync(stateDir)) continue;
      const { containers } = await Container.loadAll(stateDir);
      for (const container of containers) await container.delete({ force: true }).catch(() => {});
      assert.deepEqual(runtimeIds(stateDir), [], `runtime state left in ${stateDir}`);
      assert.deepEqual(processesUnder(stateDir), [], `processes left under ${stateDir}`);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

function newStateDir(name: string): { stateDir: string; socket: string } {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  const stateDir = join(dir, 'state');
  stateDirs.add(stateDir);
  return { stateDir, socket: join(dir, 'berthd.sock') };
}

// ---- the tests ----

describe('berthd serves containerd v0.2.8’s API', async () => {
  const { stateDir, socket } = newStateDir('main');
  const daemon = await startBerthd(stateDir, socket);
  const client: TestClient = connect(daemon.address);
  const stream = events(client.raw.events({ timestamp: undefined, storedOnly: false, id: '' }));
  after(() => {
    stream.cancel();
    client.close();
  });

  test('the socket is owner-only (0600); logs are JSON lines on stderr', () => {
    const stat = statSync(socket);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600);
    const lines = daemon.log().trim().split('\n');
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: string; msg: string };
      assert.ok(entry.level && entry.msg, line);
    }
  });

  test('grpc.health.v1 Check answers SERVING (Docker’s libcontainerd polls it)', async () => {
    assert.equal((await healthCheck(daemon.address)).status, 1 /* SERVING */);
  });

  test('GetServerVersion: package.json’s version', async () => {
    const [major, minor, patch] = packageVersion().split('.').map(Number);
    assert.deepEqual(await client.getServerVersion({}), { major, minor, patch, revision: 'berth' });
  });

  test('CreateContainer starts init and returns the container; State lists it; errors', async () => {
    await stream.until((e) => e.some((x) => x.type === 'live'), 'live marker');
    const id = uniqueId('api');
    const bundlePath = bundle({ args: ['sleep', '100'] });
    const { container } = await client.createContainer(
      createRequest(id, bundlePath, { labels: ['purpose=test'] }),
    );
    assert.ok(container);
    assert.equal(container.id, id);
    assert.equal(container.bundlePath, bundlePath);
    assert.equal(container.status, 'running');
    assert.deepEqual(container.labels, ['purpose=test']);
    assert.equal(container.runtime, 'runc');
    const init = container.processes.find((p) => p.pid === 'init');
    assert.ok(init && init.systemPid > 0 && alive(init.systemPid));
    assert.deepEqual(init.args, ['sleep', '100']);
    assert.ok(container.pids.includes(init.systemPid));
    await stream.until(has('start-container', id, 'init'), 'start-container event');

    const all = await client.state({ id: '' });
    assert.ok(all.containers.some((c) => c.id === id));
    assert.ok((all.machine?.cpus ?? 0) >= 1);
    assert.ok((all.machine?.memory ?? 0n) > 1n << 20n);
    const one = await client.state({ id });
    assert.deepEqual(
      one.containers.map((c) => c.id),
      [id],
    );

    await rejectsWith(
      client.createContainer(createRequest(id, bundlePath)),
      GrpcStatus.ALREADY_EXISTS,
    );
    await rejectsWith(
      client.createContainer(createRequest(uniqueId('api'), join(base, 'no-such-bundle'))),
      GrpcStatus.INVALID_ARGUMENT,
    );
    await rejectsWith(
      client.createContainer(createRequest('bad/id', bundlePath)),
      GrpcStatus.INVALID_ARGUMENT,
    );
    await rejectsWith(client.state({ id: 'no-such-container' }), GrpcStatus.NOT_FOUND);
    // A runtime that fails: UNKNOWN, with the runtime's own words.
    await rejectsWith(
      client.createContainer(createRequest(uniqueId('api'), bundle({ args: ['/no/such/binary'] }))),
      GrpcStatus.UNKNOWN,
      /no\/such\/binary|no such file/i,
    );

    await client.signal({ id, pid: 'init', signal: 9 });
    await stream.until(has('exit', id, 'init', 137), 'init exit 137');
    await waitFor(
      async () => !(await client.state({ id: '' })).containers.some((c) => c.id === id),
      'container removed',
    );
  });

  test('AddProcess, UpdateProcess, Signal on exec processes; errors', async () => {
    const id = uniqueId('api');
    await client.createContainer(
      createRequest(
        id,
        bundle({ args: ['sh', '-c', 'trap "exit 7" TERM; while true; do sleep 1; done'] }),
      ),
    );

    // An exec writing to a host file, as v0.2.8 clients pass stdio paths.
    const out = join(base, `${id}.out`);
    const { systemPid } = await client.addProcess(
      execRequest(id, 'hello', ['sh', '-c', 'echo hello from exec'], { stdout: out }),
    );
    assert.ok(systemPid > 0);
    await stream.until(has('start-process', id, 'hello'), 'start-process');
    await stream.until(has('exit', id, 'hello', 0), 'exec exit 0');
    assert.equal(readFileSync(out, 'utf8'), 'hello from exec\n');

    // UpdateProcess closeStdin: `cat` on a FIFO we hold open ends at EOF.
    const fifo = join(base, `${id}.stdin`);
    execFileSync('mkfifo', [fifo]);
    const writer = openSync(fifo, 'r+'); // read-write: never blocks
    const catOut = join(base, `${id}.cat`);
    await client.addProcess(execRequest(id, 'cat', ['cat'], { stdin: fifo, stdout: catOut }));
    writeSync(writer, 'through stdin\n');
    await waitFor(
      () => existsSync(catOut) && readFileSync(catOut, 'utf8') === 'through stdin\n',
      'cat echoed',
    );
    await client.updateProcess({ id, pid: 'cat', closeStdin: true, width: 0, height: 0 });
    await stream.until(has('exit', id, 'cat', 0), 'cat exits at EOF');
    closeSync(writer);

    // A resize on a process without a terminal; an unknown process.
    await client.addProcess(execRequest(id, 'sleeper', ['sleep', '100']));
    await rejectsWith(
      client.updateProcess({ id, pid: 'sleeper', closeStdin: false, width: 80, height: 24 }),
      GrpcStatus.INVALID_ARGUMENT,
    );
    await rejectsWith(
      client.updateProcess({ id, pid: 'nobody', closeStdin: true, width: 0, height: 0 }),
      GrpcStatus.NOT_FOUND,
    );

    // Signal an exec: exit 128+9.
    await client.signal({ id, pid: 'sleeper', signal: 9 });
    await stream.until(has('exit', id, 'sleeper', 137), 'sleeper killed');
    await rejectsWith(client.signal({ id, pid: 'init', signal: 0 }), GrpcStatus.INVALID_ARGUMENT);
    await rejectsWith(client.signal({ id, pid: 'init', signal: 65 }), GrpcStatus.INVALID_ARGUMENT);
    await rejectsWith(
      client.signal({ id: 'no-such-container', pid: 'init', signal: 9 }),
      GrpcStatus.NOT_FOUND,
    );

    await client.addProcess(execRequest(id, 'dup', ['sleep', '100']));
    await rejectsWith(
      client.addProcess(execRequest(id, 'dup', ['true'])),
      GrpcStatus.ALREADY_EXISTS,
    );
    await rejectsWith(
      client.addProcess(execRequest('no-such-container', 'p', ['true'])),
      GrpcStatus.NOT_FOUND,
    );
    await rejectsWith(
      client.addProcess(execRequest(id, 'noargs', [])),
      GrpcStatus.INVALID_ARGUMENT,
    );

    // init exits: the remaining exec is killed, each exit reported, the container deleted.
    // SIGTERM reaches init, whose trap exits 7 (PID 1 has no default action for it).
    await client.signal({ id, pid: 'init', signal: 15 });
    await stream.until(has('exit', id, 'init', 7), 'init exit');
    await stream.until(has('exit', id, 'dup'), 'dup killed with its container');
    await waitFor(
      async () => !(await client.state({ id: '' })).containers.some((c) => c.id === id),
      'container removed',
    );
  });

  test('UpdateContainer pauses, resumes and sets resources; Stats reads them; errors', async () => {
    const id = uniqueId('api');
    const { container } = await client.createContainer(
      createRequest(id, bundle({ args: ['sleep', '100'], memoryLimit: 256 << 20 })),
    );
    const initPid = container!.processes[0]!.systemPid;

    await client.updateContainer({ id, pid: '', status: 'paused', resources: undefined });
    await stream.until(has('pause', id), 'pause event');
    assert.equal((await client.state({ id })).containers[0]?.status, 'paused');
    await client.updateContainer({ id, pid: '', status: 'running', resources: undefined });
    await stream.until(has('resume', id), 'resume event');
    assert.equal((await client.state({ id })).containers[0]?.status, 'running');

    const before = await client.stats({ id });
    const memory = before.cgroupStats?.memoryStats;
    assert.equal(memory?.usage?.limit, 256n << 20n);
    assert.ok((before.cgroupStats?.cpuStats?.cpuUsage?.totalUsage ?? 0n) > 0n);
    assert.ok((before.cgroupStats?.cpuStats?.cpuUsage?.percpuUsage.length ?? 0) >= 1);
    assert.ok((before.cgroupStats?.cpuStats?.systemUsage ?? 0n) > 0n, 'system usage');
    assert.ok((before.cgroupStats?.pidsStats?.current ?? 0n) >= 1n);
    assert.ok(Object.keys(memory?.stats ?? {}).length > 5, 'memory.stat keys');
    const ts = before.timestamp!;
    assert.ok(Math.abs(Number(ts.seconds) - Date.now() / 1000) < 60);

    // Resources, as Docker sends them: uint64 fields, 0 = unset, uint64(-1) for "unlimited swap".
    await client.updateContainer({
      id,
      pid: '',
      status: '',
      resources: {
        blkioWeight: 0n,
        cpuShares: 512n,
        cpuPeriod: 0n,
        cpuQuota: 0n,
        cpusetCpus: '',
        cpusetMems: '',
        memoryLimit: 128n << 20n,
        memorySwap: (1n << 64n) - 1n,
        memoryReservation: 0n,
        kernelMemoryLimit: 0n,
        kernelTCPMemoryLimit: 0n,
        blkioLeafWeight: 0n,
        blkioWeightDevice: [],
        blkioThrottleReadBpsDevice: [],
        blkioThrottleWriteBpsDevice: [],
        blkioThrottleReadIopsDevice: [],
        blkioThrottleWriteIopsDevice: [],
      },
    });
    const after = await client.stats({ id });
    assert.equal(after.cgroupStats?.memoryStats?.usage?.limit, 128n << 20n);
    const cpuCgroup = readFileSync(`/proc/${initPid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.split(':')[1]?.split(',').includes('cpu'));
    if (cpuCgroup) {
      const path = cpuCgroup.split(':').slice(2).join(':');
      for (const mount of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpu']) {
        const file = join(mount, path, 'cpu.shares');
        if (existsSync(file)) {
          assert.equal(readFileSync(file, 'utf8').trim(), '512');
          break;
        }
      }
    }

    await rejectsWith(
      client.updateContainer({ id, pid: '', status: 'sleeping', resources: undefined }),
      GrpcStatus.INVALID_ARGUMENT,
    );
    await rejectsWith(
      client.updateContainer({
        id: 'no-such-container',
        pid: '',
        status: 'paused',
        resources: undefined,
      }),
      GrpcStatus.NOT_FOUND,
    );
    await rejectsWith(client.stats({ id: 'no-such-container' }), GrpcStatus.NOT_FOUND);

    await client.signal({ id, pid: 'init', signal: 9 });
    await stream.until(has('exit', id, 'init', 137), 'init exit');
  });

  test('checkpoints: create, list, delete, restore (recording runtime: CRIU cannot dump here); errors', async () => {
    const id = uniqueId('api');
    const checkpointDir = join(base, 'checkpoints');
    await client.createContainer(
      createRequest(id, bundle({ args: ['sleep', '100'] }), {
        runtime: fakeRuntime('checkpointing-runtime'),
      }),
    );
    const checkpoint = {
      name: 'cp1',
      exit: false,
      tcp: true,
      unixSockets: false,
      shell: false,
      emptyNS: [],
    };
    await client.createCheckpoint({ id, checkpoint, checkpointDir });
    const list = await client.listCheckpoint({ id, checkpointDir });
    assert.deepEqual(list.checkpoints, [checkpoint]);
    await rejectsWith(
      client.createCheckpoint({ id, checkpoint, checkpointDir }),
      GrpcStatus.ALREADY_EXISTS,
    );
    await rejectsWith(
      client.createCheckpoint({ id, checkpoint: { ...checkpoint, name: '' }, checkpointDir }),
      GrpcStatus.INVALID_ARGUMENT,
    );
    await rejectsWith(
      client.createCheckpoint({ id: 'no-such-container', checkpoint, checkpointDir }),
      GrpcStatus.NOT_FOUND,
    );

    // Restore: CreateContainer with a checkpoint name (the double starts the bundle afresh).
    const restored = uniqueId('api');
    const { container } = await client.createContainer(
      createRequest(restored, bundle({ args: ['sleep', '100'] }), {
        runtime: fakeRuntime('checkpointing-runtime'),
        checkpoint: 'cp1',
        checkpointDir,
      }),
    );
    assert.equal(container?.status, 'running');

    await client.deleteCheckpoint({ id, name: 'cp1', checkpointDir });
    assert.deepEqual((await client.listCheckpoint({ id, checkpointDir })).checkpoints, []);
    await rejectsWith(
      client.deleteCheckpoint({ id, name: 'cp1', checkpointDir }),
      GrpcStatus.NOT_FOUND,
    );
    await rejectsWith(
      client.deleteCheckpoint({ id, name: '', checkpointDir }),
      GrpcStatus.INVALID_ARGUMENT,
    );
    await rejectsWith(
      client.listCheckpoint({ id: 'no-such-container', checkpointDir }),
      GrpcStatus.NOT_FOUND,
    );

    for (const c of [id, restored]) {
      await client.signal({ id: c, pid: 'init', signal: 9 });
      await stream.until(has('exit', c, 'init'), `${c} exit`);
    }
  });

  test('Events: replay from a timestamp, storedOnly ends the stream, id filters; errors', async () => {
    const id = uniqueId('api');
    const since = BigInt(Date.now()) * 1_000_000n;
    await client.createContainer(createRequest(id, bundle({ args: ['true'] })));
    await stream.until(has('exit', id, 'init', 0), 'exit of a short container');

    const replay = events(
      client.raw.events({
        timestamp: { seconds: since / 1_000_000_000n, nanos: Number(since % 1_000_000_000n) },
        storedOnly: true,
        id,
      }),
    );
    const status = await replay.ended();
    assert.equal(status.code, GrpcStatus.OK);
    assert.deepEqual(brief(replay.seen), [`start-container:${id}:init:0`, `exit:${id}:init:0`]);
    const stamps = replay.seen.map(
      (e) => e.timestamp!.seconds * 1_000_000_000n + BigInt(e.timestamp!.nanos),
    );
    assert.ok(stamps[0]! > since && stamps[1]! > stamps[0]!, 'strictly increasing, after since');

    // From the epoch: everything kept, ours among it.
    const all = events(
      client.raw.events({ timestamp: { seconds: 0n, nanos: 0 }, storedOnly: true, id: '' }),
    );
    await all.ended();
    assert.ok(has('exit', id, 'init', 0)(all.seen));

    const refused = events(client.raw.events({ timestamp: undefined, storedOnly: true, id: '' }));
    assert.equal((await refused.ended()).code, GrpcStatus.INVALID_ARGUMENT);
  });
});

describe('berthd as a daemon', () => {
  test('a second berthd on the same state dir is refused with one clear line', async () => {
    const { stateDir, socket } = newStateDir('locked');
    const first = await startBerthd(stateDir, socket);
    const second = spawn(berthdPath, ['--state-dir', stateDir, '-l', `unix://${socket}.2`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    second.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) =>
      second.once('exit', (c) => resolve(c)),
    );
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^berthd: state dir .* is in use/);
    assert.equal(existsSync(`${socket}.2`), false, 'it never served');
    // The first one still serves.
    const client = connect(first.address);
    try {
      assert.equal((await client.getServerVersion({})).revision, 'berth');
    } finally {
      client.close();
    }
    assert.deepEqual(await stopBerthd(first), { code: 0, signal: null });
  });

  for (const [args, pattern] of [
    [['--start-timeout', '15x'], /invalid duration "15x"/],
    [['--no-such-flag'], /unknown option '--no-such-flag'/],
  ] as const)
    test(`bad flags, ${args.join(' ')}: exit 2 with the reason`, async () => {
      const child = spawn(berthdPath, [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const code = await new Promise<number | null>((resolve) =>
        child.once('exit', (c) => resolve(c)),
      );
      assert.equal(code, 2);
      assert.match(stderr, pattern);
    });

  test('SIGTERM: exits 0, containers keep running, the next berthd picks them up', async () => {
    const { stateDir, socket } = newStateDir('restart');
    const first = await startBerthd(stateDir, socket);
    const id = uniqueId('keep');
    let client = connect(first.address);
    const { container } = await client.createContainer(
      createRequest(id, bundle({ args: ['sleep', '100'] })),
    );
    await client.addProcess(execRequest(id, 'side', ['sleep', '100']));
    client.close();
    const initPid = container!.processes[0]!.systemPid;

    assert.deepEqual(await stopBerthd(first, 'SIGTERM'), { code: 0, signal: null });
    assert.ok(first.log().includes('"msg":"berthd stopped"'));
    assert.equal(existsSync(socket), false, 'socket removed');
    assert.ok(alive(initPid), 'the container outlives berthd');

    const second = await startBerthd(stateDir, socket);
    client = connect(second.address);
    try {
      const state = await client.state({ id });
      const [found] = state.containers;
      assert.equal(found?.status, 'running');
      assert.equal(found?.processes.find((p) => p.pid === 'init')?.systemPid, initPid);
      assert.ok(found?.processes.some((p) => p.pid === 'side'));

      const stream = events(client.raw.events({ timestamp: undefined, storedOnly: false, id }));
      await stream.until((e) => e.some((x) => x.type === 'live'), 'live');
      await client.signal({ id, pid: 'init', signal: 9 });
      await stream.until(has('exit', id, 'init', 137), 'init exit after restart');
      await stream.until(has('exit', id, 'side'), 'side exit after restart');
      stream.cancel();
    } finally {
      client.close();
    }
    // SIGINT works as SIGTERM does.
    assert.deepEqual(await stopBerthd(second, 'SIGINT'), { code: 0, signal: null });
    assert.deepEqual(processesUnder(stateDir), []);
  });
});
