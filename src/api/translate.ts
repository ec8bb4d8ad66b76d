/**
 * Pure translation between the gRPC messages (containerd v0.2.8's wire, as
 * generated from proto/berth.proto) and the supervisor's plain TypeScript
 * contract. No I/O here: the service (service.ts) calls these.
 */
import { status as GrpcStatus, Metadata } from '@grpc/grpc-js';
import {
  InvalidArgumentError,
  type BlkioEntry,
  type Checkpoint as RuntimeCheckpoint,
  type Resource,
  type Stat,
} from '../runtime/index.js';
import type {
  AddProcessRequest as SupervisorAddProcessRequest,
  ContainerInfo,
  CreateContainerRequest as SupervisorCreateContainerRequest,
  ProcessInfo,
  Rlimit as SupervisorRlimit,
  StateResponse as SupervisorStateResponse,
  SubscribeOptions,
  SupervisorEvent,
  UpdateContainerRequest as SupervisorUpdateContainerRequest,
  UpdateProcessRequest as SupervisorUpdateProcessRequest,
} from '../supervisor/types.js';
import type { SlowSubscriberError } from '../supervisor/errors.js';
import type {
  AddProcessRequest,
  BlkioStatsEntry,
  Checkpoint,
  Container,
  CreateContainerRequest,
  DeleteCheckpointRequest,
  Event,
  EventsRequest,
  MemoryData,
  Process,
  Rlimit,
  StateResponse,
  StatsResponse,
  UpdateContainerRequest,
  UpdateProcessRequest,
  UpdateResource,
} from './generated/berth.js';
import { nsFromTimestamp, timestampFromDate, timestampFromNs } from './timestamp.js';

const UINT64_MAX = (1n << 64n) - 1n;

// Integers.

/** A value for a uint64 field: Go's uint64(x) of an int64, so that it always encodes. */
function u64(value: bigint | number): bigint {
  const big = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
  return big >= 0n && big <= UINT64_MAX ? big : BigInt.asUintN(64, big);
}

/** A value for a uint32 field. */
function u32(value: number): number {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff ? value : value >>> 0;
}

// Stats.

function blkioEntries(entries: BlkioEntry[]): BlkioStatsEntry[] {
  return entries.map((e) => ({
    major: u64(e.major),
    minor: u64(e.minor),
    op: e.op,
    value: u64(e.value),
  }));
}

function memoryData(entry: { usage: bigint; max: bigint; failcnt: bigint; limit: bigint }) {
  return {
    usage: u64(entry.usage),
    maxUsage: u64(entry.max),
    failcnt: u64(entry.failcnt),
    limit: u64(entry.limit),
  } satisfies MemoryData;
}

/**
 * A runtime Stat as v0.2.8's StatsResponse, field by field. `systemUsage` is
 * the host's CPU time in ns (v0.2.8 read it from /proc/stat on each call;
 * clients divide container CPU time by it for a percentage).
 */
export function statsResponse(stat: Stat, systemUsage: bigint): StatsResponse {
  return {
    // v0.2.8 never filled network stats (the container's namespace is the client's business).
    networkStats: [],
    cgroupStats: {
      cpuStats: {
        cpuUsage: {
          totalUsage: u64(stat.cpu.usage.total),
          percpuUsage: stat.cpu.usage.percpu.map(u64),
          usageInKernelmode: u64(stat.cpu.usage.kernel),
          usageInUsermode: u64(stat.cpu.usage.user),
        },
        throttlingData: {
          periods: u64(stat.cpu.throttling.periods),
          throttledPeriods: u64(stat.cpu.throttling.throttledPeriods),
          throttledTime: u64(stat.cpu.throttling.throttledTime),
        },
        systemUsage: u64(systemUsage),
      },
      memoryStats: {
        cache: u64(stat.memory.cache),
        usage: memoryData(stat.memory.usage),
        swapUsage: memoryData(stat.memory.swap),
        kernelUsage: memoryData(stat.memory.kernel),
        stats: Object.fromEntries(Object.entries(stat.memory.raw).map(([k, v]) => [k, u64(v)])),
      },
      blkioStats: {
        ioServiceBytesRecursive: blkioEntries(stat.blkio.ioServiceBytesRecursive),
        ioServicedRecursive: blkioEntries(stat.blkio.ioServicedRecursive),
        ioQueuedRecursive: blkioEntries(stat.blkio.ioQueuedRecursive),
        ioServiceTimeRecursive: blkioEntries(stat.blkio.ioServiceTimeRecursive),
        ioWaitTimeRecursive: blkioEntries(stat.blkio.ioWaitTimeRecursive),
        ioMergedRecursive: blkioEntries(stat.blkio.ioMergedRecursive),
        ioTimeRecursive: blkioEntries(stat.blkio.ioTimeRecursive),
        sectorsRecursive: blkioEntries(stat.blkio.sectorsRecursive),
      },
      hugetlbStats: Object.fromEntries(
        Object.entries(stat.hugetlb).map(([size, h]) => [
          size,
          // v0.2.8 left limit unset too: the cgroup's limit is not part of the runtime's Stat.
          { usage: u64(h.usage), maxUsage: u64(h.max), failcnt: u64(h.failcnt), limit: 0n },
        ]),
      ),
      pidsStats: { current: u64(stat.pids.current), limit: u64(stat.pids.limit) },
    },
    timestamp: timestampFromDate(stat.timestamp),
  };
}

// Resources.

const RESOURCE_FIELDS = [
  ['blkioWeight', 'blkioWeight'],
  ['cpuShares', 'cpuShares'],
  ['cpuPeriod', 'cpuPeriod'],
  ['cpuQuota', 'cpuQuota'],
  ['memoryLimit', 'memory'],
  ['memorySwap', 'memorySwap'],
  ['memoryReservation', 'memoryReservation'],
  ['kernelMemoryLimit', 'kernelMemory'],
  ['kernelTCPMemoryLimit', 'kernelTCPMemory'],
] as const satisfies readonly (readonly [keyof UpdateResource, keyof Resource])[];

/**
 * v0.2.8's UpdateResource → the runtime's Resource. A 0 (or "") field is not
 * set, as in v0.2.8. The uint64 fields carry Go's int64 values as uint64
 * (Docker sends uint64(-1) for "unlimited" swap or quota), so they are read
 * back as int64, as v0.2.8 did. blkioLeafWeight and the per-device blkio lists
 * are on the wire but v0.2.8 never applied them; neither does berth.
 */
export function resourceFromUpdate(update: UpdateResource): Resource {
  const resource: Resource = {};
  for (const [wire, field] of RESOURCE_FIELDS) {
    const raw = update[wire];
    if (raw === 0n) continue;
    const value = BigInt.asIntN(64, raw);
    if (value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new InvalidArgumentError(`${wire} ${raw} is out of range`);
    }
    resource[field] = Number(value);
  }
  if (update.cpusetCpus !== '') resource.cpusetCpus = update.cpusetCpus;
  if (update.cpusetMems !== '') resource.cpusetMems = update.cpusetMems;
  return resource;
}

/** UpdateContainer: '' status and no resources are "leave as is". */
export function updateContainerFromMessage(
  req: UpdateContainerRequest,
): SupervisorUpdateContainerRequest {
  return {
    id: req.id,
    ...(req.status !== '' ? { status: req.status } : {}),
    ...(req.resources ? { resources: resourceFromUpdate(req.resources) } : {}),
  };
}

export function updateProcessFromMessage(
  req: UpdateProcessRequest,
): SupervisorUpdateProcessRequest {
  return {
    id: req.id,
    pid: req.pid,
    closeStdin: req.closeStdin,
    // 0 x 0 is "no resize", as in v0.2.8.
    ...(req.width !== 0 || req.height !== 0 ? { width: req.width, height: req.height } : {}),
  };
}

// Containers, processes, checkpoints.

function rlimitMessage(r: SupervisorRlimit): Rlimit {
  return { type: r.type, soft: u64(r.soft), hard: u64(r.hard) };
}

export function processMessage(p: ProcessInfo): Process {
  return {
    pid: p.pid,
    terminal: p.terminal,
    user: {
      uid: u32(p.user.uid),
      gid: u32(p.user.gid),
      additionalGids: (p.user.additionalGids ?? []).map(u32),
    },
    args: p.args,
    env: p.env,
    cwd: p.cwd,
    systemPid: u32(p.systemPid),
    stdin: p.stdin,
    stdout: p.stdout,
    stderr: p.stderr,
    capabilities: p.capabilities,
    apparmorProfile: p.apparmorProfile,
    selinuxLabel: p.selinuxLabel,
    noNewPrivileges: p.noNewPrivileges,
    rlimits: p.rlimits.map(rlimitMessage),
  };
}

export function containerMessage(c: ContainerInfo): Container {
  return {
    id: c.id,
    bundlePath: c.bundlePath,
    processes: c.processes.map(processMessage),
    status: c.status,
    labels: c.labels,
    pids: c.pids.map(u32),
    runtime: c.runtime,
  };
}

export function stateMessage(state: SupervisorStateResponse): StateResponse {
  return {
    containers: state.containers.map(containerMessage),
    machine: { cpus: u32(state.machine.cpus), memory: u64(state.machine.memory) },
  };
}

export function checkpointMessage(c: RuntimeCheckpoint): Checkpoint {
  return {
    name: c.name,
    exit: c.exit ?? false,
    tcp: c.tcp ?? false,
    unixSockets: c.unixSockets ?? false,
    shell: c.shell ?? false,
    emptyNS: c.emptyNS ?? [],
  };
}

export function checkpointFromMessage(c: Checkpoint | undefined): RuntimeCheckpoint {
  if (!c || c.name === '') throw new InvalidArgumentError('checkpoint name cannot be empty');
  return {
    name: c.name,
    exit: c.exit,
    tcp: c.tcp,
    unixSockets: c.unixSockets,
    shell: c.shell,
    ...(c.emptyNS.length ? { emptyNS: c.emptyNS } : {}),
  };
}

/** DeleteCheckpoint's container, checkpoint name (required) and checkpoint dir. */
export function deleteCheckpointFromMessage(req: DeleteCheckpointRequest): {
  id: string;
  name: string;
  checkpointDir: string | undefined;
} {
  if (req.name === '') throw new InvalidArgumentError('checkpoint name cannot be empty');
  return { id: req.id, name: req.name, checkpointDir: optional(req.checkpointDir) };
}

/** '' on the wire is "not given". */
export function optional(value: string): string | undefined {
  return value === '' ? undefined : value;
}

export function createContainerFromMessage(
  req: CreateContainerRequest,
): SupervisorCreateContainerRequest {
  return {
    id: req.id,
    bundlePath: req.bundlePath,
    stdin: req.stdin,
    stdout: req.stdout,
    stderr: req.stderr,
    labels: req.labels,
    noPivotRoot: req.noPivotRoot,
    // As in v0.2.8: runtimeArgs go with the runtime they are given with; with
    // no runtime, the daemon's runtime and its arguments apply unless some are given.
    ...(req.runtime !== ''
      ? { runtime: req.runtime, runtimeArgs: req.runtimeArgs }
      : req.runtimeArgs.length
        ? { runtimeArgs: req.runtimeArgs }
        : {}),
    ...(req.checkpoint !== '' ? { checkpoint: req.checkpoint } : {}),
    ...(req.checkpointDir !== '' ? { checkpointDir: req.checkpointDir } : {}),
  };
}

export function addProcessFromMessage(req: AddProcessRequest): SupervisorAddProcessRequest {
  return {
    id: req.id,
    pid: req.pid,
    terminal: req.terminal,
    ...(req.user
      ? { user: { uid: req.user.uid, gid: req.user.gid, additionalGids: req.user.additionalGids } }
      : {}),
    args: req.args,
    env: req.env,
    cwd: req.cwd,
    stdin: req.stdin,
    stdout: req.stdout,
    stderr: req.stderr,
    // Empty lists and strings are "not given": the supervisor applies its defaults.
    ...(req.capabilities.length ? { capabilities: req.capabilities } : {}),
    ...(req.apparmorProfile !== '' ? { apparmorProfile: req.apparmorProfile } : {}),
    ...(req.selinuxLabel !== '' ? { selinuxLabel: req.selinuxLabel } : {}),
    noNewPrivileges: req.noNewPrivileges,
    ...(req.rlimits.length
      ? { rlimits: req.rlimits.map((r) => ({ type: r.type, soft: r.soft, hard: r.hard })) }
      : {}),
  };
}

export function eventMessage(event: SupervisorEvent): Event {
  return {
    type: event.type,
    id: event.id,
    status: u32(event.status),
    pid: event.pid,
    timestamp: timestampFromNs(event.timestamp),
  };
}

/** An Events request as the supervisor's subscription options (the abort signal aside). */
export function subscribeOptionsFromMessage(req: EventsRequest): Omit<SubscribeOptions, 'signal'> {
  if (req.storedOnly && !req.timestamp) {
    // v0.2.8's own rule: "only stored events" needs a point to replay from.
    throw new InvalidArgumentError(
      'invalid parameter: StoredOnly cannot be specified without setting a valid Timestamp',
    );
  }
  const since = req.timestamp ? nsFromTimestamp(req.timestamp) : undefined;
  return {
    // Before the epoch: everything stored is newer.
    ...(since !== undefined ? { since: since < 0n ? 0n : since } : {}),
    storedOnly: req.storedOnly,
    ...(req.id !== '' ? { id: req.id } : {}),
  };
}

// Errors.

/** The gRPC status for each error code berth's layers throw. */
const STATUS_BY_CODE: Readonly<Record<string, GrpcStatus>> = {
  ERR_CONTAINER_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_PROCESS_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_CHECKPOINT_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_CONTAINER_EXISTS: GrpcStatus.ALREADY_EXISTS,
  ERR_PROCESS_EXISTS: GrpcStatus.ALREADY_EXISTS,
  ERR_CHECKPOINT_EXISTS: GrpcStatus.ALREADY_EXISTS,
  ERR_INVALID_ID: GrpcStatus.INVALID_ARGUMENT,
  ERR_INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  ERR_BUNDLE_NOT_FOUND: GrpcStatus.INVALID_ARGUMENT,
  ERR_INVALID_BUNDLE_CONFIG: GrpcStatus.INVALID_ARGUMENT,
  ERR_NO_TERMINAL: GrpcStatus.INVALID_ARGUMENT,
  ERR_CONTAINER_EXITED: GrpcStatus.FAILED_PRECONDITION,
  ERR_PROCESS_EXITED: GrpcStatus.FAILED_PRECONDITION,
  ERR_CONTAINER_NOT_STARTED: GrpcStatus.FAILED_PRECONDITION,
  ERR_CONTAINER_RUNNING: GrpcStatus.FAILED_PRECONDITION,
  // The shim could not use what the client gave it (e.g. a stdio FIFO no one opens).
  ERR_SHIM: GrpcStatus.FAILED_PRECONDITION,
  ERR_CONTAINER_START_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ERR_RUNTIME_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ERR_SLOW_SUBSCRIBER: GrpcStatus.RESOURCE_EXHAUSTED,
  // The runtime's own words are the message: v0.2.8's clients show them.
  ERR_RUNTIME: GrpcStatus.UNKNOWN,
};

/** Trailing metadata key carrying the last delivered event's timestamp (ns) of a stream ended for slowness. */
export const LAST_TIMESTAMP_METADATA = 'berth-last-timestamp';

export interface ErrorStatus {
  code: GrpcStatus;
  details: string;
  metadata?: Metadata;
  /** True for errors the service did not expect (INTERNAL): they are logged. */
  internal: boolean;
}

function errorCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** An error from the supervisor (or this layer) as the gRPC status the client gets. */
export function statusFromError(err: unknown): ErrorStatus {
  const code = errorCode(err);
  const mapped = code === undefined ? undefined : STATUS_BY_CODE[code];
  const message = err instanceof Error ? err.message : String(err);
  if (mapped === undefined) {
    return { code: GrpcStatus.INTERNAL, details: message || 'internal error', internal: true };
  }
  const lastTimestamp = (err as Partial<SlowSubscriberError>).lastTimestamp;
  if (code === 'ERR_SLOW_SUBSCRIBER' && typeof lastTimestamp === 'bigint') {
    const last = lastTimestamp.toString();
    const metadata = new Metadata();
    metadata.set(LAST_TIMESTAMP_METADATA, last);
    return {
      code: mapped,
      details: message.includes(last)
        ? message
        : `${message} (last delivered event timestamp: ${last} ns)`,
      metadata,
      internal: false,
    };
  }
  return { code: mapped, details: message, internal: false };
}
