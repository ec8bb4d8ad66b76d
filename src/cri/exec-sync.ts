/**
 * ExecSync: a command run to its end in a running CRI container, its output
 * captured. As containerd 1.6 (pkg/cri/server/container_execsync.go): each
 * output is kept up to 16 MiB and the rest read and dropped (a bigger answer
 * would pass gRPC's message limit anyway); `timeout` seconds (0: none) kill
 * the process (SIGKILL) and answer DEADLINE_EXCEEDED, which the kubelet's
 * probes take as a probe timeout; no tty, no stdin.
 */
import { Writable } from 'node:stream';
import { InvalidArgumentError } from '../runtime/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import type { CriContainerLookup, CriContainerView } from './container-lookup.js';
import {
  ContainerNotRunningError,
  CriContainerNotFoundError,
  ExecTimeoutError,
} from './exec-errors.js';
import { runExecProcess } from './exec-process.js';
import type { ExecSyncRequest, ExecSyncResponse } from './generated/api.js';

/** Most bytes kept of each output (containerd's maxStreamSize). */
export const EXEC_SYNC_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Longest timeout taken (a day): beyond, a setTimeout would overflow; 0 is none. */
const MAX_TIMEOUT_SECONDS = 86_400n;

/** Collects up to `limit` bytes and drops the rest, still taking it (the writer is never stalled). */
export class CappedBuffer extends Writable {
  readonly #chunks: Buffer[] = [];
  #length = 0;
  #dropped = 0;

  constructor(readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const room = this.limit - this.#length;
    if (room > 0) {
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.#chunks.push(kept);
      this.#length += kept.length;
    }
    this.#dropped += Math.max(0, chunk.length - Math.max(room, 0));
    callback();
  }

  /** Bytes read past the limit and dropped. */
  get dropped(): number {
    return this.#dropped;
  }

  contents(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}

/** The container an exec goes to: known (NOT_FOUND) and running (FAILED_PRECONDITION). */
export async function runningContainer(
  lookup: CriContainerLookup,
  containerId: string,
): Promise<CriContainerView> {
  if (typeof containerId !== 'string' || containerId === '')
    throw new InvalidArgumentError('container id must not be empty');
  const view = await lookup.resolve(containerId);
  if (!view) throw new CriContainerNotFoundError(`container ${containerId} not found`);
  if (view.state !== 'running')
    throw new ContainerNotRunningError(`container ${view.id} is not running (it is ${view.state})`);
  return view;
}

export function checkCommand(cmd: readonly string[]): void {
  if (!Array.isArray(cmd) || cmd.length === 0 || cmd[0] === '')
    throw new InvalidArgumentError('cmd must name the program to run');
}

export interface ExecSyncOptions {
  supervisor: SupervisorApi;
  lookup: CriContainerLookup;
  /** Where exec FIFO folders are made. */
  fifoRoot: string;
  /** Default EXEC_SYNC_MAX_OUTPUT_BYTES (tests make it small). */
  maxOutputBytes?: number;
}

export async function execSync(
  options: ExecSyncOptions,
  request: ExecSyncRequest,
  signal?: AbortSignal,
): Promise<ExecSyncResponse> {
  checkCommand(request.cmd);
  const timeout = BigInt(request.timeout);
  if (timeout < 0n || timeout > MAX_TIMEOUT_SECONDS)
    throw new InvalidArgumentError(
      `timeout must be 0 (none) to ${MAX_TIMEOUT_SECONDS} seconds, got ${timeout}`,
    );
  const view = await runningContainer(options.lookup, request.containerId);
  const limit = options.maxOutputBytes ?? EXEC_SYNC_MAX_OUTPUT_BYTES;
  const stdout = new CappedBuffer(limit);
  const stderr = new CappedBuffer(limit);
  const result = await runExecProcess({
    supervisor: options.supervisor,
    fifoRoot: options.fifoRoot,
    containerId: view.id,
    cmd: request.cmd,
    tty: false,
    stdin: null,
    stdout,
    stderr,
    timeoutMs: Number(timeout) * 1000,
    ...(signal ? { signal } : {}),
  });
  if (result.timedOut) {
    throw new ExecTimeoutError(
      `command ${JSON.stringify(request.cmd)} in container ${view.id}: timeout ${timeout}s exceeded`,
    );
  }
  return { stdout: stdout.contents(), stderr: stderr.contents(), exitCode: result.exitCode };
}
