/**
 * berthd's gRPC API as promises: a thin wrapper over the generated grpc-js
 * client (src/api/generated/berth.ts). Requests are filled in with the
 * message defaults (`fromPartial`), so callers name only what they set.
 */
import { createConnection } from 'node:net';
import {
  Metadata,
  credentials,
  type CallOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  APIClient,
  AddProcessRequest,
  CreateCheckpointRequest,
  CreateContainerRequest,
  DeleteCheckpointRequest,
  EventsRequest,
  ListCheckpointRequest,
  SignalRequest,
  StateRequest,
  StatsRequest,
  UpdateContainerRequest,
  UpdateProcessRequest,
  type AddProcessResponse,
  type Checkpoint,
  type Container,
  type Event,
  type GetServerVersionResponse,
  type StateResponse,
  type StatsResponse,
} from '../api/generated/berth.js';
import { parseUnixAddress, type UnixAddress } from '../api/address.js';
import { InvalidArgumentError } from '../runtime/index.js';
import { UsageError } from './errors.js';

/** Calls that only read get this long; starts, execs and checkpoints wait as long as berthd takes. */
const QUERY_DEADLINE_MS = 30_000;

/** Anything that accepts partial messages: every field optional, recursively. */
type DeepPartial<T> = T extends bigint | string | number | boolean
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

export type Address = UnixAddress;

/**
 * `unix:///path` (or `unix:/path`, or a bare absolute path) → the socket path
 * (api/address.ts); anything else is a usage error.
 */
export function parseAddress(value: string): Address {
  try {
    return parseUnixAddress(value);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Whether something accepts connections at the socket: false for no socket
 * file or a refused connection (a dead daemon's socket), true once connected.
 * A connect still pending after `timeoutMs` counts as a busy daemon.
 */
export function isListening(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const finish = (listening: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(listening);
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** A stream of events that can be iterated once and cancelled at any time. */
export interface EventStream extends AsyncIterable<Event> {
  cancel(): void;
}

type Callback<R> = (err: ServiceError | null, response: R) => void;

export class BerthClient {
  readonly address: string;
  readonly #raw: APIClient;

  constructor(address: Address) {
    this.address = address.address;
    this.#raw = new APIClient(address.address, credentials.createInsecure(), {
      // Fail at once when nothing listens, rather than retry until a deadline.
      'grpc.enable_retries': 0,
    });
  }

  close(): void {
    this.#raw.close();
  }

  #unary<Req, Res>(
    call: (
      req: Req,
      metadata: Metadata,
      options: Partial<CallOptions>,
      callback: Callback<Res>,
    ) => ClientUnaryCall,
    request: Req,
    deadlineMs: number | undefined,
    signal?: AbortSignal,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
      const pending = call.call(this.#raw, request, new Metadata(), options, (err, response) =>
        err ? reject(err) : resolve(response),
      );
      signal?.addEventListener('abort', () => pending.cancel(), { once: true });
    });
  }

  version(): Promise<GetServerVersionResponse> {
    return this.#unary(this.#raw.getServerVersion, {}, QUERY_DEADLINE_MS);
  }

  async createContainer(
    request: DeepPartial<CreateContainerRequest>,
    signal?: AbortSignal,
  ): Promise<Container | undefined> {
    const response = await this.#unary(
      this.#raw.createContainer,
      CreateContainerRequest.fromPartial(request),
      undefined,
      signal,
    );
    return response.container;
  }

  async updateContainer(request: DeepPartial<UpdateContainerRequest>): Promise<void> {
    await this.#unary(
      this.#raw.updateContainer,
      UpdateContainerRequest.fromPartial(request),
      undefined,
    );
  }

  async signal(id: string, pid: string, signal: number): Promise<void> {
    await this.#unary(
      this.#raw.signal,
      SignalRequest.fromPartial({ id, pid, signal }),
      QUERY_DEADLINE_MS,
    );
  }

  async updateProcess(request: DeepPartial<UpdateProcessRequest>): Promise<void> {
    await this.#unary(
      this.#raw.updateProcess,
      UpdateProcessRequest.fromPartial(request),
      QUERY_DEADLINE_MS,
    );
  }

  addProcess(
    request: DeepPartial<AddProcessRequest>,
    signal?: AbortSignal,
  ): Promise<AddProcessResponse> {
    return this.#unary(
      this.#raw.addProcess,
      AddProcessRequest.fromPartial(request),
      undefined,
      signal,
    );
  }

  async createCheckpoint(request: DeepPartial<CreateCheckpointRequest>): Promise<void> {
    await this.#unary(
      this.#raw.createCheckpoint,
      CreateCheckpointRequest.fromPartial(request),
      undefined,
    );
  }

  async deleteCheckpoint(request: DeepPartial<DeleteCheckpointRequest>): Promise<void> {
    await this.#unary(
      this.#raw.deleteCheckpoint,
      DeleteCheckpointRequest.fromPartial(request),
      QUERY_DEADLINE_MS,
    );
  }

  async listCheckpoints(id: string, checkpointDir = ''): Promise<Checkpoint[]> {
    const response = await this.#unary(
      this.#raw.listCheckpoint,
      ListCheckpointRequest.fromPartial({ id, checkpointDir }),
      QUERY_DEADLINE_MS,
    );
    return response.checkpoints;
  }

  state(id = ''): Promise<StateResponse> {
    return this.#unary(this.#raw.state, StateRequest.fromPartial({ id }), QUERY_DEADLINE_MS);
  }

  stats(id: string): Promise<StatsResponse> {
    return this.#unary(this.#raw.stats, StatsRequest.fromPartial({ id }), QUERY_DEADLINE_MS);
  }

  /** The Events stream; cancel() ends it (the iteration then just stops). */
  events(request: DeepPartial<EventsRequest> = {}): EventStream {
    const call: ClientReadableStream<Event> = this.#raw.events(EventsRequest.fromPartial(request));
    // A stream cancelled (or failed) before anyone iterates it must not crash the CLI;
    // an iteration still gets its error.
    call.on('error', () => {});
    let cancelled = false;
    return {
      cancel() {
        cancelled = true;
        call.cancel();
      },
      async *[Symbol.asyncIterator]() {
        try {
          for await (const event of call as AsyncIterable<Event>) yield event;
        } catch (err) {
          if (!cancelled) throw err;
        } finally {
          if (!cancelled) {
            cancelled = true;
            call.cancel();
          }
        }
      },
    };
  }
}
