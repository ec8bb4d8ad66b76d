/** The gRPC layer's pure translation: stats, resources, requests, containers, events, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  BinaryNotFoundError,
  BundleNotFoundError,
  CheckpointExistsError,
  CheckpointNotFoundError,
  ContainerExistsError,
  ContainerExitedError,
  ContainerNotFoundError,
  ContainerNotStartedError,
  ContainerRunningError,
  ContainerStartTimeoutError,
  InvalidArgumentError,
  InvalidBundleConfigError,
  InvalidIdError,
  NoTerminalError,
  ProcessExistsError,
  ProcessExitedError,
  ProcessNotFoundError,
  RuntimeError,
  RuntimeTimeoutError,
  ShimError,
  type Stat,
} from '../../src/runtime/index.js';
import { SlowSubscriberError, StateDirLockedError } from '../../src/supervisor/errors.js';
import {
  LAST_TIMESTAMP_METADATA,
  addProcessFromMessage,
  checkpointFromMessage,
  checkpointMessage,
  containerMessage,
  createContainerFromMessage,
  deleteCheckpointFromMessage,
  eventMessage,
  resourceFromUpdate,
  stateMessage,
  statsResponse,
  statusFromError,
  subscribeOptionsFromMessage,
  updateContainerFromMessage,
  updateProcessFromMessage,
} from '../../src/api/translate.js';
import {
  AddProcessRequest,
  CreateContainerRequest,
  DeleteCheckpointRequest,
  EventsRequest,
  UpdateContainerRequest,
  UpdateProcessRequest,
  StatsResponse,
  UpdateResource,
} from '../../src/api/generated/berth.js';
import { parseVersion } from '../../src/api/version.js';

const U64_MAX = (1n << 64n) - 1n;

function sampleStat(): Stat {
  const entry = (value: bigint) => ({ major: 8n, minor: 0n, op: 'Read', value });
  return {
    timestamp: new Date(1_600_000_000_500),
    cpu: {
      usage: { total: 1000n, percpu: [600n, 400n], kernel: 300n, user: 700n },
      throttling: { periods: 10n, throttledPeriods: 2n, throttledTime: 5000n },
    },
    memory: {
      cache: 4096n,
      usage: { limit: U64_MAX - 4095n, usage: 1n << 20n, max: 2n << 20n, failcnt: 3n },
      swap: { limit: 9n, usage: 8n, max: 7n, failcnt: 6n },
      kernel: { limit: 5n, usage: 4n, max: 3n, failcnt: 2n },
      kernelTCP: { limit: 1n, usage: 1n, max: 1n, failcnt: 1n },
      raw: { cache: 4096n, rss: 123n, hierarchical_memory_limit: U64_MAX },
    },
    pids: { current: 3n, limit: 0n },
    blkio: {
      ioServiceBytesRecursive: [entry(1n)],
      ioServicedRecursive: [entry(2n)],
      ioQueuedRecursive: [entry(3n)],
      ioServiceTimeRecursive: [entry(4n)],
      ioWaitTimeRecursive: [entry(5n)],
      ioMergedRecursive: [entry(6n)],
      ioTimeRecursive: [entry(7n)],
      sectorsRecursive: [entry(8n)],
    },
    hugetlb: { '2MB': { usage: 0n, max: 4n, failcnt: 1n } },
  };
}

test('Stat → StatsResponse field by field, uint64 exact through the wire', () => {
  const response = statsResponse(sampleStat(), 123_456_789_000n);
  const entry = (value: bigint) => [{ major: 8n, minor: 0n, op: 'Read', value }];
  const expected: StatsResponse = {
    networkStats: [],
    cgroupStats: {
      cpuStats: {
        cpuUsage: {
          totalUsage: 1000n,
          percpuUsage: [600n, 400n],
          usageInKernelmode: 300n,
          usageInUsermode: 700n,
        },
        throttlingData: { periods: 10n, throttledPeriods: 2n, throttledTime: 5000n },
        systemUsage: 123_456_789_000n,
      },
      memoryStats: {
        cache: 4096n,
        usage: { usage: 1n << 20n, maxUsage: 2n << 20n, failcnt: 3n, limit: U64_MAX - 4095n },
        swapUsage: { usage: 8n, maxUsage: 7n, failcnt: 6n, limit: 9n },
        kernelUsage: { usage: 4n, maxUsage: 3n, failcnt: 2n, limit: 5n },
        stats: { cache: 4096n, rss: 123n, hierarchical_memory_limit: U64_MAX },
      },
      blkioStats: {
        ioServiceBytesRecursive: entry(1n),
        ioServicedRecursive: entry(2n),
        ioQueuedRecursive: entry(3n),
        ioServiceTimeRecursive: entry(4n),
        ioWaitTimeRecursive: entry(5n),
        ioMergedRecursive: entry(6n),
        ioTimeRecursive: entry(7n),
        sectorsRecursive: entry(8n),
      },
      hugetlbStats: { '2MB': { usage: 0n, maxUsage: 4n, failcnt: 1n, limit: 0n } },
      pidsStats: { current: 3n, limit: 0n },
    },
    timestamp: { seconds: 1_600_000_000n, nanos: 500_000_000 },
  };
  assert.deepEqual(response, expected);
  assert.deepEqual(StatsResponse.decode(StatsResponse.encode(response).finish()), expected);
});

test('UpdateResource → Resource: 0 is unset; uint64(-1) reads back as -1; unsafe values refused', () => {
  assert.deepEqual(resourceFromUpdate(UpdateResource.fromPartial({})), {});
  assert.deepEqual(
    resourceFromUpdate(
      UpdateResource.fromPartial({
        blkioWeight: 300n,
        cpuShares: 512n,
        cpuPeriod: 100_000n,
        cpuQuota: U64_MAX, // Docker's uint64(-1): no quota
        cpusetCpus: '0-1',
        cpusetMems: '0',
        memoryLimit: 64n << 20n,
        memorySwap: U64_MAX, // unlimited swap
        memoryReservation: 32n << 20n,
        kernelMemoryLimit: 16n << 20n,
        kernelTCPMemoryLimit: 8n << 20n,
        // On the wire, never applied (as in v0.2.8).
        blkioLeafWeight: 10n,
        blkioWeightDevice: [{ blkIODevice: { major: 8n, minor: 0n }, weight: 10, leafWeight: 0 }],
      }),
    ),
    {
      blkioWeight: 300,
      cpuShares: 512,
      cpuPeriod: 100_000,
      cpuQuota: -1,
      cpusetCpus: '0-1',
      cpusetMems: '0',
      memory: 64 * 1024 * 1024,
      memorySwap: -1,
      memoryReservation: 32 * 1024 * 1024,
      kernelMemory: 16 * 1024 * 1024,
      kernelTCPMemory: 8 * 1024 * 1024,
    },
  );
  assert.throws(
    () => resourceFromUpdate(UpdateResource.fromPartial({ memoryLimit: 1n << 60n })),
    (err: unknown) => err instanceof InvalidArgumentError && /memoryLimit/.test(err.message),
  );
});

test('CreateContainerRequest: empty strings are not given; runtimeArgs go with their runtime', () => {
  const base = CreateContainerRequest.fromPartial({ id: 'c1', bundlePath: '/b' });
  assert.deepEqual(createContainerFromMessage(base), {
    id: 'c1',
    bundlePath: '/b',
    stdin: '',
    stdout: '',
    stderr: '',
    labels: [],
    noPivotRoot: false,
  });
  const full = createContainerFromMessage(
    CreateContainerRequest.fromPartial({
      id: 'c1',
      bundlePath: '/b',
      checkpoint: 'cp',
      checkpointDir: '/cps',
      stdin: '/fifo/in',
      stdout: '/fifo/out',
      stderr: '/fifo/err',
      labels: ['a=b'],
      noPivotRoot: true,
      runtime: 'crun',
      runtimeArgs: [],
    }),
  );
  assert.deepEqual(full, {
    id: 'c1',
    bundlePath: '/b',
    checkpoint: 'cp',
    checkpointDir: '/cps',
    stdin: '/fifo/in',
    stdout: '/fifo/out',
    stderr: '/fifo/err',
    labels: ['a=b'],
    noPivotRoot: true,
    runtime: 'crun',
    runtimeArgs: [],
  });
  assert.deepEqual(
    createContainerFromMessage(CreateContainerRequest.fromPartial({ runtimeArgs: ['--debug'] }))
      .runtimeArgs,
    ['--debug'],
  );
});

test('AddProcessRequest: user, rlimits (exact uint64) and capabilities pass through', () => {
  const req = addProcessFromMessage(
    AddProcessRequest.fromPartial({
      id: 'c1',
      pid: 'p1',
      terminal: true,
      user: { uid: 1000, gid: 1000, additionalGids: [5] },
      args: ['sh'],
      env: ['A=1'],
      cwd: '/',
      capabilities: ['CAP_KILL'],
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024n, hard: U64_MAX }],
      noNewPrivileges: true,
    }),
  );
  assert.deepEqual(req, {
    id: 'c1',
    pid: 'p1',
    terminal: true,
    user: { uid: 1000, gid: 1000, additionalGids: [5] },
    args: ['sh'],
    env: ['A=1'],
    cwd: '/',
    stdin: '',
    stdout: '',
    stderr: '',
    capabilities: ['CAP_KILL'],
    noNewPrivileges: true,
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024n, hard: U64_MAX }],
  });
  const bare = addProcessFromMessage(AddProcessRequest.fromPartial({ id: 'c1', pid: 'p1' }));
  assert.equal(bare.user, undefined);
  assert.equal(bare.capabilities, undefined);
  assert.equal(bare.rlimits, undefined);
});

test('containers, processes, machine and events as messages', () => {
  const process = {
    pid: 'init',
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: ['sleep', '100'],
    env: ['PATH=/bin'],
    cwd: '/',
    systemPid: 4242,
    stdin: '',
    stdout: '/out',
    stderr: '',
    capabilities: ['CAP_KILL'],
    apparmorProfile: '',
    selinuxLabel: '',
    noNewPrivileges: true,
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024n }],
  };
  const container = {
    id: 'c1',
    bundlePath: '/b',
    processes: [process],
    status: 'running',
    labels: ['x'],
    pids: [4242, 4243],
    runtime: 'runc',
  };
  assert.deepEqual(containerMessage(container), {
    ...container,
    processes: [
      {
        ...process,
        user: { uid: 0, gid: 0, additionalGids: [] },
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024n, hard: 1024n }],
      },
    ],
  });
  const state = stateMessage({ containers: [], machine: { cpus: 2, memory: 24n << 30n } });
  assert.deepEqual(state, { containers: [], machine: { cpus: 2, memory: 24n << 30n } });
  assert.deepEqual(
    eventMessage({ type: 'exit', id: 'c1', pid: 'init', status: 137, timestamp: 5_000_000_001n }),
    { type: 'exit', id: 'c1', pid: 'init', status: 137, timestamp: { seconds: 5n, nanos: 1 } },
  );
});

test('checkpoints both ways; a checkpoint needs a name', () => {
  assert.deepEqual(checkpointMessage({ name: 'cp', created: new Date(), tcp: true }), {
    name: 'cp',
    exit: false,
    tcp: true,
    unixSockets: false,
    shell: false,
    emptyNS: [],
  });
  assert.deepEqual(
    checkpointFromMessage({
      name: 'cp',
      exit: true,
      tcp: false,
      unixSockets: true,
      shell: false,
      emptyNS: ['network'],
    }),
    { name: 'cp', exit: true, tcp: false, unixSockets: true, shell: false, emptyNS: ['network'] },
  );
  assert.equal(
    checkpointFromMessage({
      name: 'cp',
      exit: false,
      tcp: false,
      unixSockets: false,
      shell: false,
      emptyNS: [],
    }).emptyNS,
    undefined,
  );
  assert.throws(() => checkpointFromMessage(undefined), InvalidArgumentError);
  assert.throws(
    () =>
      checkpointFromMessage({
        name: '',
        exit: false,
        tcp: false,
        unixSockets: false,
        shell: false,
        emptyNS: [],
      }),
    InvalidArgumentError,
  );
});

test('errors → gRPC status by code; the message is the error message', async (t) => {
  const cases: [Error, GrpcStatus][] = [
    [new ContainerNotFoundError('containerd: container not found'), GrpcStatus.NOT_FOUND],
    [new ProcessNotFoundError('no process'), GrpcStatus.NOT_FOUND],
    [new CheckpointNotFoundError('no checkpoint'), GrpcStatus.NOT_FOUND],
    [new ContainerExistsError('exists'), GrpcStatus.ALREADY_EXISTS],
    [new ProcessExistsError('exists'), GrpcStatus.ALREADY_EXISTS],
    [new CheckpointExistsError('exists'), GrpcStatus.ALREADY_EXISTS],
    [new InvalidIdError('bad id'), GrpcStatus.INVALID_ARGUMENT],
    [new InvalidArgumentError('bad'), GrpcStatus.INVALID_ARGUMENT],
    [new BundleNotFoundError('no bundle'), GrpcStatus.INVALID_ARGUMENT],
    [new InvalidBundleConfigError('bad config'), GrpcStatus.INVALID_ARGUMENT],
    [new NoTerminalError('no tty'), GrpcStatus.INVALID_ARGUMENT],
    [new ContainerExitedError(), GrpcStatus.FAILED_PRECONDITION],
    [new ProcessExitedError('exited'), GrpcStatus.FAILED_PRECONDITION],
    [new ContainerNotStartedError(), GrpcStatus.FAILED_PRECONDITION],
    [new ContainerRunningError('running'), GrpcStatus.FAILED_PRECONDITION],
    [new ContainerStartTimeoutError(), GrpcStatus.DEADLINE_EXCEEDED],
    [new ShimError('stdout FIFO /x: no reader after 1600 ms'), GrpcStatus.FAILED_PRECONDITION],
    [new RuntimeTimeoutError('runc hung', ['runc', 'start']), GrpcStatus.DEADLINE_EXCEEDED],
    [
      new RuntimeError(
        'container_linux.go:380: starting container process caused: exec: "nope"',
        ['runc'],
        1,
      ),
      GrpcStatus.UNKNOWN,
    ],
  ];
  for (const [err, code] of cases)
    await t.test(`${err.constructor.name} → ${GrpcStatus[code]}`, () => {
      const status = statusFromError(err);
      assert.equal(status.code, code);
      assert.equal(status.details, err.message);
      assert.equal(status.internal, false);
    });
  for (const err of [
    new Error('boom'),
    new BinaryNotFoundError('no runc'),
    new StateDirLockedError('locked'),
    Object.assign(new Error('ENOENT: nope'), { code: 'ENOENT' }),
  ])
    await t.test(`${err.constructor.name} "${err.message}" → INTERNAL`, () => {
      const status = statusFromError(err);
      assert.equal(status.code, GrpcStatus.INTERNAL);
      assert.equal(status.details, err.message);
      assert.equal(status.internal, true);
    });
  assert.equal(statusFromError('a string').code, GrpcStatus.INTERNAL);
});

test('a slow subscriber: RESOURCE_EXHAUSTED naming the last timestamp, also in trailing metadata', () => {
  const status = statusFromError(new SlowSubscriberError(1_700_000_000_000_000_123n));
  assert.equal(status.code, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.match(status.details, /1700000000000000123/);
  assert.deepEqual(status.metadata?.get(LAST_TIMESTAMP_METADATA), ['1700000000000000123']);
  const custom = statusFromError(new SlowSubscriberError(42n, 'too slow'));
  assert.match(custom.details, /^too slow .*42 ns/);
});

test('GetServerVersion: package.json version split, revision "berth"', () => {
  assert.deepEqual(parseVersion('0.1.0'), { major: 0, minor: 1, patch: 0, revision: 'berth' });
  assert.deepEqual(parseVersion('12.3.45-rc.1'), {
    major: 12,
    minor: 3,
    patch: 45,
    revision: 'berth',
  });
  assert.deepEqual(parseVersion('garbage'), { major: 0, minor: 0, patch: 0, revision: 'berth' });
});

// The requests service.ts used to translate inline.

test('UpdateContainer: "" status and no resources leave the container as it is', () => {
  assert.deepEqual(updateContainerFromMessage(UpdateContainerRequest.fromPartial({ id: 'c1' })), {
    id: 'c1',
  });
});

test('UpdateContainer: a status and resources pass, resources as the runtime reads them', () => {
  assert.deepEqual(
    updateContainerFromMessage(
      UpdateContainerRequest.fromPartial({
        id: 'c1',
        status: 'paused',
        resources: { cpuShares: 512n, memorySwap: U64_MAX },
      }),
    ),
    { id: 'c1', status: 'paused', resources: { cpuShares: 512, memorySwap: -1 } },
  );
});

test('UpdateProcess: 0 x 0 is no resize', () => {
  assert.deepEqual(
    updateProcessFromMessage(
      UpdateProcessRequest.fromPartial({ id: 'c1', pid: 'init', closeStdin: true }),
    ),
    { id: 'c1', pid: 'init', closeStdin: true },
  );
});

test('UpdateProcess: a size is a resize, even with one side 0', () => {
  assert.deepEqual(
    updateProcessFromMessage(
      UpdateProcessRequest.fromPartial({ id: 'c1', pid: 'e1', width: 80, height: 0 }),
    ),
    { id: 'c1', pid: 'e1', closeStdin: false, width: 80, height: 0 },
  );
});

test('DeleteCheckpoint: a name is needed; "" dir is the default one', () => {
  assert.deepEqual(
    deleteCheckpointFromMessage(DeleteCheckpointRequest.fromPartial({ id: 'c1', name: 'cp' })),
    { id: 'c1', name: 'cp', checkpointDir: undefined },
  );
  assert.deepEqual(
    deleteCheckpointFromMessage(
      DeleteCheckpointRequest.fromPartial({ id: 'c1', name: 'cp', checkpointDir: '/cps' }),
    ),
    { id: 'c1', name: 'cp', checkpointDir: '/cps' },
  );
  assert.throws(
    () => deleteCheckpointFromMessage(DeleteCheckpointRequest.fromPartial({ id: 'c1' })),
    InvalidArgumentError,
  );
});

test('Events: no timestamp is live only; a timestamp replays after it', () => {
  assert.deepEqual(subscribeOptionsFromMessage(EventsRequest.fromPartial({})), {
    storedOnly: false,
  });
  assert.deepEqual(
    subscribeOptionsFromMessage(
      EventsRequest.fromPartial({
        id: 'c1',
        storedOnly: true,
        timestamp: { seconds: 1_700_000_000n, nanos: 5 },
      }),
    ),
    { since: 1_700_000_000_000_000_005n, storedOnly: true, id: 'c1' },
  );
});

test('Events: a timestamp before the epoch replays everything stored', () => {
  assert.deepEqual(
    subscribeOptionsFromMessage(EventsRequest.fromPartial({ timestamp: { seconds: -5n } })),
    { since: 0n, storedOnly: false },
  );
});

test("Events: stored only without a timestamp is refused, in v0.2.8's words", () => {
  assert.throws(
    () => subscribeOptionsFromMessage(EventsRequest.fromPartial({ storedOnly: true })),
    (err: unknown) =>
      err instanceof InvalidArgumentError &&
      /StoredOnly cannot be specified without setting a valid Timestamp/.test(err.message),
  );
});
