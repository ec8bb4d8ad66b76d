/**
 * The supervisor's contract with the layers above it (the gRPC service, the
 * CLI, embedders): plain TypeScript, no gRPC. Field names follow containerd
 * v0.2.8's API (docs/DESIGN.md, "gRPC API") so that the service only translates.
 */
import type { Checkpoint, Resource, Stat } from '../runtime/index.js';

/** A pino-compatible subset, so any structured logger fits. */
export interface SupervisorLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** Event types, as containerd v0.2.8 names them on the wire. */
export const EventType = {
  StartContainer: 'start-container',
  StartProcess: 'start-process',
  Exit: 'exit',
  Oom: 'oom',
  Pause: 'pause',
  Resume: 'resume',
  Live: 'live',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface SupervisorEvent {
  type: EventType;
  /** Container id ('' for `live`). */
  id: string;
  /** Process id (`init` or an exec's id; '' where none applies). */
  pid: string;
  /** Exit status for `exit`, else 0. */
  status: number;
  /**
   * Nanoseconds since the epoch. Strictly increasing across the journal (also
   * across restarts), so "newer than T" replays without a gap or a repeat.
   */
  timestamp: bigint;
}

export interface UserSpec {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface Rlimit {
  type: string;
  soft: number | bigint;
  hard: number | bigint;
}

export interface CreateContainerRequest {
  id: string;
  bundlePath: string;
  /** Restore from this checkpoint name (under checkpointDir) instead of creating afresh. */
  checkpoint?: string;
  checkpointDir?: string;
  /** Stdio paths (FIFOs or files the client made); '' for /dev/null. */
  stdin?: string;
  stdout?: string;
  stderr?: string;
  labels?: string[];
  noPivotRoot?: boolean;
  /** Defaults: the supervisor's. */
  runtime?: string;
  runtimeArgs?: string[];
}

export interface AddProcessRequest {
  /** Container id. */
  id: string;
  /** The caller's process id. */
  pid: string;
  terminal?: boolean;
  user?: UserSpec;
  args: string[];
  env?: string[];
  cwd?: string;
  stdin?: string;
  stdout?: string;
  stderr?: string;
  /** v0.2.8's flat list: converted for today's runtimes. */
  capabilities?: string[];
  apparmorProfile?: string;
  selinuxLabel?: string;
  noNewPrivileges?: boolean;
  rlimits?: Rlimit[];
}

export interface ProcessInfo {
  pid: string;
  terminal: boolean;
  user: UserSpec;
  args: string[];
  env: string[];
  cwd: string;
  systemPid: number;
  stdin: string;
  stdout: string;
  stderr: string;
  capabilities: string[];
  apparmorProfile: string;
  selinuxLabel: string;
  noNewPrivileges: boolean;
  rlimits: Rlimit[];
}

export interface ContainerInfo {
  id: string;
  bundlePath: string;
  processes: ProcessInfo[];
  /** running | paused | stopped */
  status: string;
  labels: string[];
  pids: number[];
  runtime: string;
}

export interface MachineInfo {
  cpus: number;
  /** Bytes. */
  memory: bigint;
}

export interface StateResponse {
  containers: ContainerInfo[];
  machine: MachineInfo;
}

export interface UpdateContainerRequest {
  id: string;
  /** 'paused' or 'running' to pause or resume; '' or undefined to leave as is. */
  status?: string;
  resources?: Resource;
}

export interface UpdateProcessRequest {
  id: string;
  pid: string;
  closeStdin?: boolean;
  width?: number;
  height?: number;
}

export interface SubscribeOptions {
  /** Replay stored events strictly newer than this (ns since the epoch) first. */
  since?: bigint;
  /** Replay, then end (no `live`, no streaming). */
  storedOnly?: boolean;
  /** Only this container's events (the `live` marker is always sent). */
  id?: string;
  signal?: AbortSignal;
}

/**
 * A subscription: every event in order. A subscriber that falls more than a
 * bounded number of events behind is not silently skipped: its iteration
 * throws SlowSubscriberError naming the last timestamp it was given, from
 * which it can resume by replay.
 */
export interface EventSubscription extends AsyncIterable<SupervisorEvent> {
  close(): void;
}

/** What the gRPC service needs of a supervisor. Every method validates its input. */
export interface SupervisorApi {
  readonly stateDir: string;
  createContainer(req: CreateContainerRequest): Promise<ContainerInfo>;
  addProcess(req: AddProcessRequest): Promise<{ systemPid: number }>;
  signal(id: string, pid: string, signal: number): Promise<void>;
  updateProcess(req: UpdateProcessRequest): Promise<void>;
  updateContainer(req: UpdateContainerRequest): Promise<void>;
  createCheckpoint(id: string, checkpoint: Checkpoint, checkpointDir?: string): Promise<void>;
  deleteCheckpoint(id: string, name: string, checkpointDir?: string): Promise<void>;
  listCheckpoints(id: string, checkpointDir?: string): Promise<Checkpoint[]>;
  /** One container (NOT_FOUND-style error if unknown) or all when `id` is ''/undefined. */
  state(id?: string): Promise<StateResponse>;
  stats(id: string): Promise<Stat>;
  subscribe(options?: SubscribeOptions): EventSubscription;
  /** Stops watching; containers keep running. */
  close(): Promise<void>;
}
