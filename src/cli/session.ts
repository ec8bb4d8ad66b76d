/**
 * An attached process through berthd: subscribe to the container's events
 * (before anything starts, so no exit can be missed), start it with FIFOs of
 * ours as its stdio, copy, forward window sizes and Ctrl-C, and return its
 * exit status from the `exit` event.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Event } from '../api/generated/berth.js';
import { attachUntilExit, openAttachFifos, type StdioPaths } from './attach.js';
import type { StdioFifos } from '../supervisor/stdio-fifos.js';
import type { BerthClient, EventStream } from './client.js';
import { CliError, InterruptedError, isServiceError } from './errors.js';
import { timestampFromNs } from '../api/timestamp.js';
import { timestampNs } from './output.js';
import { interruptible, progress } from './progress.js';

/** How long to wait for berthd's `live` marker before starting anyway. */
const LIVE_WAIT_MS = 2_000;
/** How long a lost event stream is retried (berthd restarting) before giving up. */
const RECONNECT_MS = 15_000;

/**
 * Exit events of one container, from a subscription made before its process
 * starts. A stream cut short (berthd restarted, or this reader was too slow)
 * is resumed from the last event seen, so no exit is lost.
 */
export class ExitWatcher {
  readonly #client: BerthClient;
  readonly #id: string;
  readonly #exits = new Map<string, number>();
  readonly #waiters = new Map<string, (status: number) => void>();
  readonly #rejects = new Set<(err: Error) => void>();
  #stream: EventStream | undefined;
  #last = 0n;
  #closed = false;
  #failure: Error | undefined;
  #onFailure: ((err: Error) => void) | undefined;
  #live: (() => void) | undefined;

  private constructor(client: BerthClient, id: string) {
    this.#client = client;
    this.#id = id;
  }

  /** Subscribes and waits (briefly) until berthd says the subscription is live. */
  static async subscribe(client: BerthClient, id: string): Promise<ExitWatcher> {
    const watcher = new ExitWatcher(client, id);
    const live = new Promise<void>((resolve) => (watcher.#live = resolve));
    const failed = new Promise<never>((_, reject) => (watcher.#onFailure = reject));
    watcher.#run();
    try {
      await Promise.race([live, failed, sleep(LIVE_WAIT_MS, undefined, { ref: false })]);
    } catch (err) {
      watcher.close();
      throw err;
    }
    watcher.#onFailure = undefined;
    return watcher;
  }

  #run(): void {
    void this.#loop().catch((err: Error) => {
      this.#failure = err;
      this.#onFailure?.(err);
      for (const reject of this.#rejects) reject(err);
    });
  }

  async #loop(): Promise<void> {
    let lostAt: number | undefined;
    // Until a first event came, a failure is berthd's answer to us, not a stream cut short.
    let connected = false;
    while (!this.#closed) {
      const stream = this.#client.events(
        this.#last ? { id: this.#id, timestamp: timestampFromNs(this.#last) } : { id: this.#id },
      );
      this.#stream = stream;
      try {
        for await (const event of stream) {
          lostAt = undefined;
          connected = true;
          this.#take(event);
        }
        if (this.#closed) return;
      } catch (err) {
        if (this.#closed) return;
        const retry =
          isServiceError(err) &&
          (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.RESOURCE_EXHAUSTED);
        if (!retry || !connected) throw err;
        lostAt ??= Date.now();
        if (Date.now() - lostAt > RECONNECT_MS) {
          throw new CliError(
            `lost berthd's event stream and could not resume it: ${err.details}`,
            'UNAVAILABLE',
          );
        }
      }
      await sleep(200);
    }
  }

  #take(event: Event): void {
    const ts = timestampNs(event.timestamp);
    if (ts > this.#last) this.#last = ts;
    if (event.type === 'live') this.#live?.();
    if (event.type !== 'exit' || event.id !== this.#id) return;
    this.#exits.set(event.pid, event.status);
    this.#waiters.get(event.pid)?.(event.status);
  }

  /** The exit status of process `pid` (init: "init") of the container. */
  wait(pid: string): Promise<number> {
    const known = this.#exits.get(pid);
    if (known !== undefined) return Promise.resolve(known);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#rejects.add(reject);
      this.#waiters.set(pid, (status) => {
        this.#rejects.delete(reject);
        this.#waiters.delete(pid);
        resolve(status);
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#stream?.cancel();
  }
}

export interface AttachedStart {
  client: BerthClient;
  /** Container id. */
  id: string;
  /** Process id: "init" for the container's own. */
  pid: string;
  terminal: boolean;
  /** What is being started, for the progress line: "starting c1". */
  label: string;
  /** Starts the process with these stdio paths (CreateContainer or AddProcess). */
  launch(stdio: StdioPaths, signal: AbortSignal): Promise<void>;
}

/**
 * Starts a process attached to our stdio and resolves with its exit status.
 * Ctrl-C while it starts abandons the start; once it runs, Ctrl-C (and
 * SIGTERM) are forwarded: SIGINT first, SIGKILL from the third on.
 */
export async function runAttached(options: AttachedStart): Promise<number> {
  const { client, id, pid, terminal } = options;
  const watcher = await ExitWatcher.subscribe(client, id);
  let fifos: StdioFifos | undefined;
  try {
    fifos = await openAttachFifos(terminal);
    const interrupt = interruptible();
    const shown = progress(options.label);
    try {
      await options.launch(fifos.paths, interrupt.signal);
    } catch (err) {
      if (interrupt.signal.aborted) {
        throw new InterruptedError(
          `interrupted while ${options.label}; it may still have started (berth containers list)`,
        );
      }
      throw err;
    } finally {
      shown.done();
      interrupt.release();
    }
    fifos.release();
    return await attachUntilExit({
      streams: fifos.streams,
      terminal,
      // Once our input is all in the FIFO: the shim passes it on before the EOF.
      closeStdin: () => void client.updateProcess({ id, pid, closeStdin: true }).catch(() => {}),
      resize: (width, height) =>
        void client.updateProcess({ id, pid, width, height }).catch(() => {}),
      signal: (number) => void client.signal(id, pid, number).catch(() => {}),
      wait: () => watcher.wait(pid),
    });
  } finally {
    fifos?.close();
    watcher.close();
  }
}
