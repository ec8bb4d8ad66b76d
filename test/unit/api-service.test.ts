/**
 * The gRPC service and server over a fake supervisor, through a real grpc-js
 * client on a real unix socket: translation both ways, errors as statuses,
 * the event stream's end cases, and the socket's permissions and lifecycle.
 * No containers: the integration test (berthd.test.ts) does those.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  linkSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Metadata,
  status as GrpcStatus,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  ContainerNotFoundError,
  RuntimeError,
  type Checkpoint,
  type Stat,
} from '../../src/runtime/index.js';
import { SlowSubscriberError } from '../../src/supervisor/errors.js';
import type {
  EventSubscription,
  SubscribeOptions,
  SupervisorApi,
  SupervisorEvent,
} from '../../src/supervisor/types.js';
import type { Event } from '../../src/api/generated/berth.js';
import { connect, healthCheck } from '../helpers/api-client.js';
import { HealthCheckResponse_ServingStatus as ServingStatus } from '../../src/api/generated/grpc/health/v1/health.js';
import { serve, type ApiServer } from '../../src/api/server.js';
import { LAST_TIMESTAMP_METADATA } from '../../src/api/translate.js';

const base = mkdtempSync(join(tmpdir(), 'berth-api-'));
after(() => rmSync(base, { recursive: true, force: true }));
let sockets = 0;
const newSocket = () => join(base, `s${++sockets}.sock`);

/** A subscription fed by the test: push events, fail it, or end it. */
class FakeSubscription implements EventSubscription {
  closed = false;
  readonly #queue: (SupervisorEvent | Error | null)[] = [];
  #wake: (() => void) | undefined;
  constructor(readonly options: SubscribeOptions) {
    options.signal?.addEventListener('abort', () => this.close());
  }
  push(item: SupervisorEvent | Error | null) {
    this.#queue.push(item);
    this.#wake?.();
  }
  close() {
    this.closed = true;
    this.#wake?.();
  }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      if (this.closed) return;
      const item = this.#queue.shift();
      if (item === undefined) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      if (item === null) return;
      if (item instanceof Error) throw item;
      yield item;
    }
  }
}

const ev = (n: number, type: SupervisorEvent['type'] = 'exit'): SupervisorEvent => ({
  type,
  id: 'c1',
  pid: 'init',
  status: n,
  timestamp: 1_700_000_000_000_000_000n + BigInt(n),
});

function fakeStat(): Stat {
  const mem = { limit: 1n, usage: 2n, max: 3n, failcnt: 0n };
  const blkio = {
    ioServiceBytesRecursive: [],
    ioServicedRecursive: [],
    ioQueuedRecursive: [],
    ioServiceTimeRecursive: [],
    ioWaitTimeRecursive: [],
    ioMergedRecursive: [],
    ioTimeRecursive: [],
    sectorsRecursive: [],
  };
  return {
    timestamp: new Date(1_600_000_000_000),
    cpu: {
      usage: { total: 18_446_744_073_709_551_615n, percpu: [1n], kernel: 0n, user: 0n },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    memory: { cache: 0n, usage: mem, swap: mem, kernel: mem, kernelTCP: mem, raw: { rss: 5n } },
    pids: { current: 1n, limit: 10n },
    blkio,
    hugetlb: {},
  };
}

/** Records each call; answers with canned values; `fail` makes the next call throw. */
class FakeSupervisor implements SupervisorApi {
  readonly stateDir = '/fake';
  calls: [string, ...unknown[]][] = [];
  subscriptions: FakeSubscription[] = [];
  fail: Error | undefined;
  #check(name: string, ...args: unknown[]) {
    this.calls.push([name, ...args]);
    const err = this.fail;
    this.fail = undefined;
    if (err) throw err;
  }
  readonly container = {
    id: 'c1',
    bundlePath: '/b',
    processes: [],
    status: 'running',
    labels: [],
    pids: [42],
    runtime: 'runc',
  };
  async createContainer(req: unknown) {
    this.#check('createContainer', req);
    return this.container;
  }
  async addProcess(req: unknown) {
    this.#check('addProcess', req);
    return { systemPid: 4321 };
  }
  async signal(id: string, pid: string, signal: number) {
    this.#check('signal', id, pid, signal);
  }
  async updateProcess(req: unknown) {
    this.#check('updateProcess', req);
  }
  async updateContainer(req: unknown) {
    this.#check('updateContainer', req);
  }
  async createCheckpoint(id: string, checkpoint: Checkpoint, dir?: string) {
    this.#check('createCheckpoint', id, checkpoint, dir);
  }
  async deleteCheckpoint(id: string, name: string, dir?: string) {
    this.#check('deleteCheckpoint', id, name, dir);
  }
  async listCheckpoints(id: string, dir?: string) {
    this.#check('listCheckpoints', id, dir);
    return [{ name: 'cp1', created: new Date(), tcp: true }];
  }
  async state(id?: string) {
    this.#check('state', id);
    return { containers: [this.container], machine: { cpus: 2, memory: 1n << 34n } };
  }
  async stats(id: string) {
    this.#check('stats', id);
    return fakeStat();
  }
  subscribe(options: SubscribeOptions = {}) {
    this.#check('subscribe', { ...options, signal: undefined });
    const sub = new FakeSubscription(options);
    this.subscriptions.push(sub);
    return sub;
  }
  async close() {}
}

async function rejectsWith(promise: Promise<unknown>, code: GrpcStatus, details?: RegExp) {
  await assert.rejects(promise, (err: ServiceError) => {
    assert.equal(err.code, code, `${GrpcStatus[err.code]}: ${err.details}`);
    if (details) assert.match(err.details, details);
    return true;
  });
}

/** Reads a stream until it ends: the events, then its status. */
function collect(stream: ClientReadableStream<Event>) {
  const events: Event[] = [];
  stream.on('data', (e: Event) => events.push(e));
  const done = new Promise<{ code: GrpcStatus; details: string; metadata: Metadata }>((resolve) =>
    stream.on('status', resolve),
  );
  stream.on('error', () => {});
  return { events, done };
}

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting: ${what}`);
}

describe('service over a fake supervisor', async () => {
  const sv = new FakeSupervisor();
  const path = newSocket();
  const server: ApiServer = await serve(sv, `unix://${path}`, { graceMs: 500 });
  const client = connect(`unix://${path}`);
  after(async () => {
    client.close();
    await server.close();
  });

  test('every unary RPC becomes one supervisor call; results come back as messages', async () => {
    sv.calls = [];
    const version = await client.getServerVersion({});
    assert.equal(version.revision, 'berth');
    const created = await client.createContainer({
      id: 'c1',
      bundlePath: '/b',
      checkpoint: '',
      stdin: '',
      stdout: '/o',
      stderr: '',
      labels: ['l'],
      noPivotRoot: false,
      runtime: '',
      runtimeArgs: [],
      checkpointDir: '',
    });
    assert.deepEqual(created.container?.pids, [42]);
    await client.updateContainer({
      id: 'c1',
      pid: '',
      status: 'paused',
      resources: undefined,
    });
    await client.signal({ id: 'c1', pid: 'init', signal: 15 });
    await client.updateProcess({
      id: 'c1',
      pid: 'init',
      closeStdin: true,
      width: 0,
      height: 0,
    });
    const added = await client.addProcess({
      id: 'c1',
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [] },
      args: ['true'],
      env: [],
      cwd: '/',
      pid: 'p1',
      stdin: '',
      stdout: '',
      stderr: '',
      capabilities: [],
      apparmorProfile: '',
      selinuxLabel: '',
      noNewPrivileges: false,
      rlimits: [],
    });
    assert.equal(added.systemPid, 4321);
    await client.createCheckpoint({
      id: 'c1',
      checkpoint: {
        name: 'cp1',
        exit: false,
        tcp: true,
        unixSockets: false,
        shell: false,
        emptyNS: [],
      },
      checkpointDir: '/cps',
    });
    await client.deleteCheckpoint({ id: 'c1', name: 'cp1', checkpointDir: '' });
    const list = await client.listCheckpoint({ id: 'c1', checkpointDir: '' });
    assert.deepEqual(
      list.checkpoints.map((c) => [c.name, c.tcp]),
      [['cp1', true]],
    );
    const state = await client.state({ id: '' });
    assert.deepEqual(state.machine, { cpus: 2, memory: 1n << 34n });
    const stats = await client.stats({ id: 'c1' });
    assert.equal(stats.cgroupStats?.cpuStats?.cpuUsage?.totalUsage, 18_446_744_073_709_551_615n);
    assert.ok(
      (stats.cgroupStats?.cpuStats?.systemUsage ?? 0n) > 0n,
      'system usage from /proc/stat',
    );
    assert.deepEqual(stats.cgroupStats?.memoryStats?.stats, { rss: 5n });

    assert.deepEqual(
      sv.calls.map((c) => c[0]),
      [
        'createContainer',
        'updateContainer',
        'signal',
        'updateProcess',
        'addProcess',
        'createCheckpoint',
        'deleteCheckpoint',
        'listCheckpoints',
        'state',
        'stats',
      ],
    );
    assert.deepEqual(sv.calls[1], ['updateContainer', { id: 'c1', status: 'paused' }]);
    assert.deepEqual(sv.calls[2], ['signal', 'c1', 'init', 15]);
    assert.deepEqual(sv.calls[3], ['updateProcess', { id: 'c1', pid: 'init', closeStdin: true }]);
    assert.deepEqual(sv.calls[5], [
      'createCheckpoint',
      'c1',
      { name: 'cp1', exit: false, tcp: true, unixSockets: false, shell: false },
      '/cps',
    ]);
    assert.deepEqual(sv.calls[6], ['deleteCheckpoint', 'c1', 'cp1', undefined]);
    assert.deepEqual(sv.calls[8], ['state', undefined]);
  });

  test('grpc.health.v1 Check: SERVING for the server and types.API, NOT_FOUND for others', async () => {
    const address = `unix://${path}`;
    assert.equal((await healthCheck(address)).status, ServingStatus.SERVING);
    assert.equal((await healthCheck(address, 'types.API')).status, ServingStatus.SERVING);
    await rejectsWith(healthCheck(address, 'other.Service'), GrpcStatus.NOT_FOUND);
  });

  test('UpdateContainer with resources passes them translated', async () => {
    sv.calls = [];
    await client.updateContainer({
      id: 'c1',
      pid: '',
      status: '',
      resources: {
        blkioWeight: 0n,
        cpuShares: 256n,
        cpuPeriod: 0n,
        cpuQuota: (1n << 64n) - 1n,
        cpusetCpus: '',
        cpusetMems: '',
        memoryLimit: 1n << 26n,
        memorySwap: 0n,
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
    assert.deepEqual(sv.calls, [
      [
        'updateContainer',
        { id: 'c1', resources: { cpuShares: 256, cpuQuota: -1, memory: 1 << 26 } },
      ],
    ]);
  });

  test('errors come back as statuses with the error message', async () => {
    sv.fail = new ContainerNotFoundError('containerd: container not found');
    await rejectsWith(
      client.signal({ id: 'nope', pid: 'init', signal: 9 }),
      GrpcStatus.NOT_FOUND,
      /^containerd: container not found$/,
    );
    sv.fail = new RuntimeError('runc said no', ['runc', 'create'], 1);
    await rejectsWith(client.stats({ id: 'c1' }), GrpcStatus.UNKNOWN, /^runc said no$/);
    sv.fail = new Error('bug');
    await rejectsWith(client.state({ id: '' }), GrpcStatus.INTERNAL, /bug/);
    // Wire-level checks never reach the supervisor.
    sv.calls = [];
    await rejectsWith(
      client.signal({ id: 'c1', pid: 'init', signal: 0 }),
      GrpcStatus.INVALID_ARGUMENT,
      /signal/,
    );
    await rejectsWith(
      client.createCheckpoint({ id: 'c1', checkpoint: undefined, checkpointDir: '' }),
      GrpcStatus.INVALID_ARGUMENT,
      /checkpoint name/,
    );
    await rejectsWith(
      client.deleteCheckpoint({ id: 'c1', name: '', checkpointDir: '' }),
      GrpcStatus.INVALID_ARGUMENT,
      /checkpoint name/,
    );
    assert.deepEqual(sv.calls, []);
  });

  test('Events: timestamp → since (ns), id and storedOnly passed; events streamed in order; end → OK', async () => {
    sv.calls = [];
    const stream = client.raw.events({
      timestamp: { seconds: 1_700_000_000n, nanos: 5 },
      storedOnly: true,
      id: 'c1',
    });
    const { events, done } = collect(stream);
    await until(() => sv.subscriptions.length > 0 && sv.calls.length > 0, 'subscribe');
    assert.deepEqual(sv.calls[0], [
      'subscribe',
      { since: 1_700_000_000_000_000_005n, storedOnly: true, id: 'c1', signal: undefined },
    ]);
    const sub = sv.subscriptions.at(-1)!;
    sub.push(ev(1));
    sub.push(ev(2, 'oom'));
    sub.push(null);
    const status = await done;
    assert.equal(status.code, GrpcStatus.OK);
    assert.deepEqual(
      events.map((e) => [e.type, e.status, e.timestamp]),
      [
        ['exit', 1, { seconds: 1_700_000_000n, nanos: 1 }],
        ['oom', 2, { seconds: 1_700_000_000n, nanos: 2 }],
      ],
    );
    assert.ok(sub.closed);
  });

  test('Events: no timestamp → no replay; storedOnly without one is refused as v0.2.8 did', async () => {
    sv.calls = [];
    const live = client.raw.events({ timestamp: undefined, storedOnly: false, id: '' });
    const { done } = collect(live);
    await until(() => sv.calls.length > 0, 'subscribe');
    assert.deepEqual(sv.calls[0], ['subscribe', { storedOnly: false, signal: undefined }]);
    sv.subscriptions.at(-1)!.push(null);
    assert.equal((await done).code, GrpcStatus.OK);

    const refused = collect(client.raw.events({ timestamp: undefined, storedOnly: true, id: '' }));
    const status = await refused.done;
    assert.equal(status.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(status.details, /StoredOnly/);
  });

  test('Events: a slow subscriber ends RESOURCE_EXHAUSTED with the last timestamp, in text and metadata', async () => {
    const before = sv.subscriptions.length;
    const stream = client.raw.events({ timestamp: undefined, storedOnly: false, id: '' });
    const { events, done } = collect(stream);
    await until(() => sv.subscriptions.length > before, 'subscribe');
    const sub = sv.subscriptions.at(-1)!;
    sub.push(ev(7));
    sub.push(new SlowSubscriberError(ev(7).timestamp));
    const status = await done;
    assert.equal(status.code, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(status.details, new RegExp(ev(7).timestamp.toString()));
    assert.deepEqual(status.metadata.get(LAST_TIMESTAMP_METADATA), [ev(7).timestamp.toString()]);
    assert.equal(events.length, 1);
    assert.ok(sub.closed);
  });

  test('Events: a client that reads slowly gets every event, in order (back-pressure, no loss)', async () => {
    const before = sv.subscriptions.length;
    const stream = client.raw.events({ timestamp: undefined, storedOnly: false, id: '' });
    stream.pause();
    await until(() => sv.subscriptions.length > before, 'subscribe');
    const sub = sv.subscriptions.at(-1)!;
    const count = 20_000; // ~1 MB of events: far past HTTP/2's flow-control window
    for (let i = 1; i <= count; i++) sub.push({ ...ev(i), id: `container-${'x'.repeat(20)}` });
    sub.push(null);
    await new Promise((r) => setTimeout(r, 200));
    const { events, done } = collect(stream);
    stream.resume();
    assert.equal((await done).code, GrpcStatus.OK);
    assert.equal(events.length, count);
    assert.ok(events.every((e, i) => e.status === i + 1));
  });

  test('Events: a client that cancels closes its subscription', async () => {
    const before = sv.subscriptions.length;
    const stream = client.raw.events({ timestamp: undefined, storedOnly: false, id: '' });
    const { events, done } = collect(stream);
    await until(() => sv.subscriptions.length > before, 'subscribe');
    const sub = sv.subscriptions.at(-1)!;
    sub.push(ev(1));
    await until(() => events.length === 1, 'first event');
    stream.cancel();
    assert.equal((await done).code, GrpcStatus.CANCELLED);
    await until(() => sub.closed, 'subscription closed');
  });
});

describe('server', () => {
  test('the socket is 0600 from the start, the umask is restored, close() removes it', async () => {
    const path = newSocket();
    const umask = process.umask();
    const server = await serve(new FakeSupervisor(), `unix://${path}`);
    try {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.ok(statSync(path).isSocket());
      assert.equal(process.umask(), umask);
    } finally {
      await server.close();
    }
    assert.equal(existsSync(path), false);
    await server.close(); // twice is fine
  });

  test('a dead daemon’s socket is replaced; a live one, or a file that is no socket, is not', async () => {
    // A dead daemon's socket: the file stays, nobody answers. (Node unlinks
    // its socket on close, so a hard link keeps the file for the test.)
    const stale = newSocket();
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(stale, r));
    linkSync(stale, `${stale}.keep`);
    await new Promise<void>((r) => holder.close(() => r()));
    renameSync(`${stale}.keep`, stale);
    assert.ok(statSync(stale).isSocket());

    const server = await serve(new FakeSupervisor(), `unix://${stale}`);
    const client = connect(`unix://${stale}`);
    try {
      const version = await client.getServerVersion({});
      assert.equal(version.revision, 'berth');
      // A second server on the same live socket is refused, and the first keeps serving.
      await assert.rejects(serve(new FakeSupervisor(), `unix://${stale}`), /in use/);
      assert.equal((await client.getServerVersion({})).revision, 'berth');
    } finally {
      client.close();
      await server.close();
    }

    const file = join(base, 'not-a-socket');
    writeFileSync(file, 'precious');
    await assert.rejects(serve(new FakeSupervisor(), `unix://${file}`), /not a socket/);
    assert.ok(existsSync(file));
    unlinkSync(file);
  });

  test('close() ends event streams UNAVAILABLE and stops serving', async () => {
    const path = newSocket();
    const sv = new FakeSupervisor();
    const server = await serve(sv, `unix://${path}`, { graceMs: 500 });
    const client = connect(`unix://${path}`);
    try {
      const { done } = collect(
        client.raw.events({ timestamp: undefined, storedOnly: false, id: '' }),
      );
      await until(() => sv.subscriptions.length > 0, 'subscribe');
      await server.close();
      const status = await done;
      assert.equal(status.code, GrpcStatus.UNAVAILABLE);
      assert.ok(sv.subscriptions[0]!.closed);
      await rejectsWith(client.getServerVersion({}), GrpcStatus.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});
