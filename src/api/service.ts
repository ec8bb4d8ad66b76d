/**
 * The gRPC service (containerd v0.2.8's `types.API`) over a SupervisorApi.
 * Translation only: each request becomes one supervisor call, each result a
 * response message, each error a gRPC status (translate.ts). The supervisor
 * validates its input; only what is about the wire is checked here.
 */
import {
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { readSystemCpuUsageNs } from '../runtime/index.js';
import { checkSignal } from '../supervisor/signal.js';
import type { EventSubscription, SupervisorApi } from '../supervisor/types.js';
import type {
  APIServer,
  Event,
  EventsRequest,
  GetServerVersionResponse,
} from './generated/berth.js';
import {
  addProcessFromMessage,
  checkpointFromMessage,
  checkpointMessage,
  containerMessage,
  createContainerFromMessage,
  deleteCheckpointFromMessage,
  eventMessage,
  optional,
  stateMessage,
  statsResponse,
  statusFromError,
  subscribeOptionsFromMessage,
  updateContainerFromMessage,
  updateProcessFromMessage,
} from './translate.js';
import { packageVersion, parseVersion } from './version.js';

/** The logging the service needs: pino's Logger fits. */
export interface ApiLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: ApiLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface ApiServiceOptions {
  logger?: ApiLogger;
  /** GetServerVersion's answer; default: package.json's version, revision "berth". */
  version?: GetServerVersionResponse;
  /** The host's CPU time in ns for Stats' system_usage; default: read from /proc/stat. */
  systemCpuUsage?: () => Promise<bigint>;
}

/** The service: its grpc-js implementation, and shutdown() to end the event streams it serves. */
export class ApiService {
  readonly implementation: APIServer;
  readonly #supervisor: SupervisorApi;
  readonly #logger: ApiLogger;
  readonly #streams = new Set<{ end(): void }>();
  #shuttingDown = false;

  constructor(supervisor: SupervisorApi, options: ApiServiceOptions = {}) {
    this.#supervisor = supervisor;
    this.#logger = options.logger ?? silent;
    const version = options.version ?? parseVersion(packageVersion());
    const cpuUsage = options.systemCpuUsage ?? (() => Promise.resolve(readSystemCpuUsageNs()));
    const sv = supervisor;

    this.implementation = {
      getServerVersion: this.#unary('GetServerVersion', () => Promise.resolve(version)),

      createContainer: this.#unary('CreateContainer', async (req) => ({
        container: containerMessage(await sv.createContainer(createContainerFromMessage(req))),
      })),

      updateContainer: this.#unary('UpdateContainer', async (req) => {
        await sv.updateContainer(updateContainerFromMessage(req));
        return {};
      }),

      signal: this.#unary('Signal', async (req) => {
        await sv.signal(req.id, req.pid, checkSignal(req.signal));
        return {};
      }),

      updateProcess: this.#unary('UpdateProcess', async (req) => {
        await sv.updateProcess(updateProcessFromMessage(req));
        return {};
      }),

      addProcess: this.#unary('AddProcess', async (req) => {
        const { systemPid } = await sv.addProcess(addProcessFromMessage(req));
        return { systemPid };
      }),

      createCheckpoint: this.#unary('CreateCheckpoint', async (req) => {
        await sv.createCheckpoint(
          req.id,
          checkpointFromMessage(req.checkpoint),
          optional(req.checkpointDir),
        );
        return {};
      }),

      deleteCheckpoint: this.#unary('DeleteCheckpoint', async (req) => {
        const { id, name, checkpointDir } = deleteCheckpointFromMessage(req);
        await sv.deleteCheckpoint(id, name, checkpointDir);
        return {};
      }),

      listCheckpoint: this.#unary('ListCheckpoint', async (req) => ({
        checkpoints: (await sv.listCheckpoints(req.id, optional(req.checkpointDir))).map(
          checkpointMessage,
        ),
      })),

      state: this.#unary('State', async (req) => stateMessage(await sv.state(optional(req.id)))),

      stats: this.#unary('Stats', async (req) => {
        const [stat, system] = await Promise.all([sv.stats(req.id), cpuUsage()]);
        return statsResponse(stat, system);
      }),

      events: (call) => this.#events(call),
    };
  }

  /**
   * Ends every event stream being served with UNAVAILABLE (the daemon is
   * stopping), and refuses new ones. Unary calls in flight finish on their own.
   */
  shutdown(): void {
    this.#shuttingDown = true;
    for (const stream of [...this.#streams]) stream.end();
  }

  #unary<Req, Res>(
    name: string,
    handler: (req: Req) => Promise<Res>,
  ): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
    return (call, callback) => {
      const started = process.hrtime.bigint();
      let settled: Promise<Res>;
      try {
        settled = handler(call.request);
      } catch (err) {
        settled = Promise.reject(err);
      }
      settled.then(
        (response) => {
          this.#logger.debug(
            { rpc: name, ms: Number(process.hrtime.bigint() - started) / 1e6 },
            'rpc ok',
          );
          callback(null, response);
        },
        (err: unknown) => callback(this.#fail(name, err)),
      );
    };
  }

  /** The status for an error, logged: at error level when unexpected (INTERNAL), else at debug. */
  #fail(rpc: string, err: unknown) {
    const { internal, ...status } = statusFromError(err);
    if (internal) this.#logger.error({ rpc, err }, 'rpc failed: internal error');
    else
      this.#logger.debug(
        { rpc, code: GrpcStatus[status.code], msg: status.details },
        'rpc refused',
      );
    return status;
  }

  #events(call: ServerWritableStream<EventsRequest, Event>): void {
    const req = call.request;
    let subscription: EventSubscription;
    const abort = new AbortController();
    try {
      if (this.#shuttingDown) {
        call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'berthd is shutting down' });
        return;
      }
      subscription = this.#supervisor.subscribe({
        ...subscribeOptionsFromMessage(req),
        signal: abort.signal,
      });
    } catch (err) {
      call.emit('error', this.#fail('Events', err));
      return;
    }
    void this.#pump(call, subscription, abort);
  }

  async #pump(
    call: ServerWritableStream<EventsRequest, Event>,
    subscription: EventSubscription,
    abort: AbortController,
  ): Promise<void> {
    let finished = false;
    let wakeDrain: (() => void) | undefined;
    const stop = () => {
      abort.abort();
      subscription.close();
      wakeDrain?.();
    };
    const entry = {
      // The daemon is stopping: end the stream as a vanished v0.2.8 daemon would, unavailable.
      end: () => {
        if (finished) return;
        finished = true;
        stop();
        call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'berthd is shutting down' });
      },
    };
    this.#streams.add(entry);
    const onCancelled = () => {
      finished = true;
      stop();
    };
    call.once('cancelled', onCancelled);
    if (call.cancelled) onCancelled();
    try {
      for await (const event of subscription) {
        if (finished) break;
        if (!call.write(eventMessage(event))) {
          // The client reads slower than events come: wait for it (the
          // supervisor ends the subscription if it falls too far behind).
          let onDrain: () => void = () => {};
          await new Promise<void>((resolve) => {
            onDrain = wakeDrain = resolve;
            call.once('drain', onDrain);
          });
          call.off('drain', onDrain);
          wakeDrain = undefined;
        }
      }
      if (!finished) {
        finished = true;
        call.end();
      }
    } catch (err) {
      if (!finished) {
        finished = true;
        call.emit('error', this.#fail('Events', err));
      }
    } finally {
      this.#streams.delete(entry);
      call.off('cancelled', onCancelled);
      subscription.close();
    }
  }
}

/** The grpc-js implementation of `types.API` over a supervisor. */
export function createApiService(
  supervisor: SupervisorApi,
  options: ApiServiceOptions = {},
): ApiService {
  return new ApiService(supervisor, options);
}
