/**
 * The wire contract of docs/DESIGN.md's "gRPC API" table, checked on the generated
 * code: every field of every message encodes with the listed number and a
 * wire type that fits the listed type, and the extreme value of that type
 * survives a round trip (a uint64 stays exact, an int64 keeps its sign).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../../src/api/generated/berth.js';

type FieldType =
  | 'string'
  | 'bool'
  | 'uint32'
  | 'uint64'
  | 'int64'
  | 'message'
  | 'timestamp'
  | 'repeated string'
  | 'repeated uint32'
  | 'repeated uint64'
  | 'repeated message'
  | 'map<string,uint64>'
  | 'map<string,message>';

type Table = Record<string, Record<string, [number, FieldType]>>;

const U64_MAX = (1n << 64n) - 1n;

/** docs/DESIGN.md's table, with the generated (camelCase) field names. */
const CONTRACT: Table = {
  GetServerVersionResponse: {
    major: [1, 'uint32'],
    minor: [2, 'uint32'],
    patch: [3, 'uint32'],
    revision: [4, 'string'],
  },
  CreateContainerRequest: {
    id: [1, 'string'],
    bundlePath: [2, 'string'],
    checkpoint: [3, 'string'],
    stdin: [4, 'string'],
    stdout: [5, 'string'],
    stderr: [6, 'string'],
    labels: [7, 'repeated string'],
    noPivotRoot: [8, 'bool'],
    runtime: [9, 'string'],
    runtimeArgs: [10, 'repeated string'],
    checkpointDir: [11, 'string'],
  },
  CreateContainerResponse: { container: [1, 'message'] },
  SignalRequest: { id: [1, 'string'], pid: [2, 'string'], signal: [3, 'uint32'] },
  UpdateProcessRequest: {
    id: [1, 'string'],
    pid: [2, 'string'],
    closeStdin: [3, 'bool'],
    width: [4, 'uint32'],
    height: [5, 'uint32'],
  },
  AddProcessRequest: {
    id: [1, 'string'],
    terminal: [2, 'bool'],
    user: [3, 'message'],
    args: [4, 'repeated string'],
    env: [5, 'repeated string'],
    cwd: [6, 'string'],
    pid: [7, 'string'],
    stdin: [8, 'string'],
    stdout: [9, 'string'],
    stderr: [10, 'string'],
    capabilities: [11, 'repeated string'],
    apparmorProfile: [12, 'string'],
    selinuxLabel: [13, 'string'],
    noNewPrivileges: [14, 'bool'],
    rlimits: [15, 'repeated message'],
  },
  AddProcessResponse: { systemPid: [1, 'uint32'] },
  Rlimit: { type: [1, 'string'], soft: [2, 'uint64'], hard: [3, 'uint64'] },
  User: { uid: [1, 'uint32'], gid: [2, 'uint32'], additionalGids: [3, 'repeated uint32'] },
  CreateCheckpointRequest: {
    id: [1, 'string'],
    checkpoint: [2, 'message'],
    checkpointDir: [3, 'string'],
  },
  DeleteCheckpointRequest: { id: [1, 'string'], name: [2, 'string'], checkpointDir: [3, 'string'] },
  ListCheckpointRequest: { id: [1, 'string'], checkpointDir: [2, 'string'] },
  ListCheckpointResponse: { checkpoints: [1, 'repeated message'] },
  Checkpoint: {
    name: [1, 'string'],
    exit: [2, 'bool'],
    tcp: [3, 'bool'],
    unixSockets: [4, 'bool'],
    shell: [5, 'bool'],
    emptyNS: [6, 'repeated string'],
  },
  StateRequest: { id: [1, 'string'] },
  StateResponse: { containers: [1, 'repeated message'], machine: [2, 'message'] },
  Process: {
    pid: [1, 'string'],
    terminal: [2, 'bool'],
    user: [3, 'message'],
    args: [4, 'repeated string'],
    env: [5, 'repeated string'],
    cwd: [6, 'string'],
    systemPid: [7, 'uint32'],
    stdin: [8, 'string'],
    stdout: [9, 'string'],
    stderr: [10, 'string'],
    capabilities: [11, 'repeated string'],
    apparmorProfile: [12, 'string'],
    selinuxLabel: [13, 'string'],
    noNewPrivileges: [14, 'bool'],
    rlimits: [15, 'repeated message'],
  },
  Container: {
    id: [1, 'string'],
    bundlePath: [2, 'string'],
    processes: [3, 'repeated message'],
    status: [4, 'string'],
    labels: [5, 'repeated string'],
    pids: [6, 'repeated uint32'],
    runtime: [7, 'string'],
  },
  Machine: { cpus: [1, 'uint32'], memory: [2, 'uint64'] },
  UpdateContainerRequest: {
    id: [1, 'string'],
    pid: [2, 'string'],
    status: [3, 'string'],
    resources: [4, 'message'],
  },
  UpdateResource: {
    blkioWeight: [1, 'uint64'],
    cpuShares: [2, 'uint64'],
    cpuPeriod: [3, 'uint64'],
    cpuQuota: [4, 'uint64'],
    cpusetCpus: [5, 'string'],
    cpusetMems: [6, 'string'],
    memoryLimit: [7, 'uint64'],
    memorySwap: [8, 'uint64'],
    memoryReservation: [9, 'uint64'],
    kernelMemoryLimit: [10, 'uint64'],
    kernelTCPMemoryLimit: [11, 'uint64'],
    blkioLeafWeight: [12, 'uint64'],
    blkioWeightDevice: [13, 'repeated message'],
    blkioThrottleReadBpsDevice: [14, 'repeated message'],
    blkioThrottleWriteBpsDevice: [15, 'repeated message'],
    blkioThrottleReadIopsDevice: [16, 'repeated message'],
    blkioThrottleWriteIopsDevice: [17, 'repeated message'],
  },
  BlockIODevice: { major: [1, 'int64'], minor: [2, 'int64'] },
  WeightDevice: { blkIODevice: [1, 'message'], weight: [2, 'uint32'], leafWeight: [3, 'uint32'] },
  ThrottleDevice: { blkIODevice: [1, 'message'], rate: [2, 'uint64'] },
  EventsRequest: { timestamp: [2, 'timestamp'], storedOnly: [3, 'bool'], id: [4, 'string'] },
  Event: {
    type: [1, 'string'],
    id: [2, 'string'],
    status: [3, 'uint32'],
    pid: [4, 'string'],
    timestamp: [6, 'timestamp'],
  },
  StatsRequest: { id: [1, 'string'] },
  StatsResponse: {
    networkStats: [1, 'repeated message'],
    cgroupStats: [2, 'message'],
    timestamp: [4, 'timestamp'],
  },
  NetworkStats: {
    name: [1, 'string'],
    rxBytes: [2, 'uint64'],
    rxPackets: [3, 'uint64'],
    RxErrors: [4, 'uint64'],
    RxDropped: [5, 'uint64'],
    TxBytes: [6, 'uint64'],
    TxPackets: [7, 'uint64'],
    TxErrors: [8, 'uint64'],
    TxDropped: [9, 'uint64'],
  },
  CgroupStats: {
    cpuStats: [1, 'message'],
    memoryStats: [2, 'message'],
    blkioStats: [3, 'message'],
    hugetlbStats: [4, 'map<string,message>'],
    pidsStats: [5, 'message'],
  },
  CpuStats: {
    cpuUsage: [1, 'message'],
    throttlingData: [2, 'message'],
    systemUsage: [3, 'uint64'],
  },
  CpuUsage: {
    totalUsage: [1, 'uint64'],
    percpuUsage: [2, 'repeated uint64'],
    usageInKernelmode: [3, 'uint64'],
    usageInUsermode: [4, 'uint64'],
  },
  ThrottlingData: {
    periods: [1, 'uint64'],
    throttledPeriods: [2, 'uint64'],
    throttledTime: [3, 'uint64'],
  },
  MemoryStats: {
    cache: [1, 'uint64'],
    usage: [2, 'message'],
    swapUsage: [3, 'message'],
    kernelUsage: [4, 'message'],
    stats: [5, 'map<string,uint64>'],
  },
  MemoryData: {
    usage: [1, 'uint64'],
    maxUsage: [2, 'uint64'],
    failcnt: [3, 'uint64'],
    limit: [4, 'uint64'],
  },
  BlkioStats: {
    ioServiceBytesRecursive: [1, 'repeated message'],
    ioServicedRecursive: [2, 'repeated message'],
    ioQueuedRecursive: [3, 'repeated message'],
    ioServiceTimeRecursive: [4, 'repeated message'],
    ioWaitTimeRecursive: [5, 'repeated message'],
    ioMergedRecursive: [6, 'repeated message'],
    ioTimeRecursive: [7, 'repeated message'],
    sectorsRecursive: [8, 'repeated message'],
  },
  BlkioStatsEntry: {
    major: [1, 'uint64'],
    minor: [2, 'uint64'],
    op: [3, 'string'],
    value: [4, 'uint64'],
  },
  HugetlbStats: {
    usage: [1, 'uint64'],
    maxUsage: [2, 'uint64'],
    failcnt: [3, 'uint64'],
    limit: [4, 'uint64'],
  },
  PidsStats: { current: [1, 'uint64'], limit: [2, 'uint64'] },
};

/** Messages with no fields. */
const EMPTY = [
  'GetServerVersionRequest',
  'UpdateContainerResponse',
  'SignalResponse',
  'UpdateProcessResponse',
  'CreateCheckpointResponse',
  'DeleteCheckpointResponse',
];

function sample(type: FieldType): unknown {
  switch (type) {
    case 'string':
      return 'x';
    case 'bool':
      return true;
    case 'uint32':
      return 0xffffffff;
    case 'uint64':
      return U64_MAX;
    case 'int64':
      return -(1n << 63n);
    case 'message':
      return {};
    case 'timestamp':
      return { seconds: 1_700_000_000n, nanos: 999_999_999 };
    case 'repeated string':
      return ['a', 'b'];
    case 'repeated uint32':
      return [0xffffffff, 1];
    case 'repeated uint64':
      return [U64_MAX, 1n];
    case 'repeated message':
      return [{}];
    case 'map<string,uint64>':
      return { k: U64_MAX };
    case 'map<string,message>':
      return { k: {} };
  }
}

/** proto3: scalars are varints (0), the rest (and packed repeated scalars) length-delimited (2). */
function wireType(type: FieldType): number {
  return ['bool', 'uint32', 'uint64', 'int64'].includes(type) ? 0 : 2;
}

interface Codec {
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  fromPartial(object: unknown): unknown;
}

function codec(name: string): Codec {
  const found = (api as unknown as Record<string, Codec | undefined>)[name];
  assert.ok(found && typeof found.encode === 'function', `no message ${name}`);
  return found;
}

function readVarint(bytes: Uint8Array, at = 0): number {
  let value = 0;
  for (let shift = 0, i = at; ; shift += 7, i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
  }
}

for (const [message, fields] of Object.entries(CONTRACT)) {
  test(`${message}: field numbers and types as docs/DESIGN.md lists them`, () => {
    const fns = codec(message);
    const created = fns.fromPartial({}) as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(created).sort(),
      Object.keys(fields).sort(),
      'the message has exactly the listed fields',
    );
    for (const [field, [number, type]] of Object.entries(fields)) {
      const value = sample(type);
      const msg = fns.fromPartial({ [field]: value });
      const bytes = fns.encode(msg).finish();
      const tag = readVarint(bytes);
      assert.equal(tag >>> 3, number, `${message}.${field} is field ${number}`);
      assert.equal(tag & 7, wireType(type), `${message}.${field} wire type fits ${type}`);
      const back = fns.decode(bytes) as Record<string, unknown>;
      if (!type.includes('message')) {
        assert.deepEqual(back[field], value, `${message}.${field} round-trips exactly`);
      }
    }
  });
}

for (const message of EMPTY)
  test(`${message}, field-less, encodes to nothing`, () => {
    assert.equal(codec(message).encode(codec(message).fromPartial({})).finish().length, 0);
  });

test('service types.API has the twelve RPCs at their v0.2.8 paths; Events streams', () => {
  const paths = Object.values(api.APIService).map((m) => m.path);
  assert.deepEqual(paths, [
    '/types.API/GetServerVersion',
    '/types.API/CreateContainer',
    '/types.API/UpdateContainer',
    '/types.API/Signal',
    '/types.API/UpdateProcess',
    '/types.API/AddProcess',
    '/types.API/CreateCheckpoint',
    '/types.API/DeleteCheckpoint',
    '/types.API/ListCheckpoint',
    '/types.API/State',
    '/types.API/Events',
    '/types.API/Stats',
  ]);
  const streaming = Object.values(api.APIService)
    .filter((m) => m.responseStream)
    .map((m) => m.path);
  assert.deepEqual(streaming, ['/types.API/Events']);
  assert.ok(Object.values(api.APIService).every((m) => !m.requestStream));
});

test('an Event encodes byte for byte as v0.2.8 does', () => {
  const bytes = api.Event.encode({
    type: 'exit',
    id: 'c1',
    status: 137,
    pid: 'init',
    timestamp: { seconds: 1n, nanos: 2 },
  }).finish();
  assert.deepEqual(
    Buffer.from(bytes).toString('hex'),
    [
      '0a04' + Buffer.from('exit').toString('hex'),
      '1202' + Buffer.from('c1').toString('hex'),
      '188901', // 137 as a varint
      '2204' + Buffer.from('init').toString('hex'),
      '32040801' + '1002', // field 6: Timestamp{seconds:1 nanos:2}
    ].join(''),
  );
});
