/**
 * OOM notifications for a container: the init's shim watches the memory
 * cgroup (eventfd on memory.oom_control for cgroup v1, memory.events for v2)
 * and reports each kill on its exit channel; this turns those reports into an
 * AsyncIterable. The seed's OOM interface (docs/SEED.md; FD and Flush are Go
 * plumbing that an async iterator makes unnecessary).
 */
import { existsSync } from 'node:fs';
import type { ContainerProcess } from './process.js';

export interface OomEvent {
  containerId: string;
  timestamp: Date;
}

export class OomWatcher implements AsyncIterable<OomEvent>, AsyncDisposable {
  readonly containerId: string;
  readonly #memoryCgroup: string | undefined;
  readonly #queue: OomEvent[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  readonly #unsubscribe: () => void;
  readonly #init: ContainerProcess;

  /**
   * `memoryCgroup` is the container's memory cgroup folder; when it is gone,
   * `removed` is true. Only a pending iteration keeps Node running.
   */
  constructor(containerId: string, init: ContainerProcess, memoryCgroup: string | undefined) {
    this.containerId = containerId;
    this.#memoryCgroup = memoryCgroup;
    this.#init = init;
    this.#unsubscribe = init.onOom(() => {
      this.#queue.push({ containerId, timestamp: new Date() });
      this.#wake?.();
    });
    // No more notifications can come once the shim is gone.
    void init.shimExited({ keepAlive: false }).then(() => this.#end());
  }

  /** True once the container's memory cgroup no longer exists. */
  get removed(): boolean {
    return this.#memoryCgroup === undefined || !existsSync(this.#memoryCgroup);
  }

  /** OOM kills so far that nobody has taken from the iterator yet. */
  get pending(): number {
    return this.#queue.length;
  }

  close(): void {
    this.#end();
    this.#queue.length = 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<OomEvent> {
    for (;;) {
      const event = this.#queue.shift();
      if (event) {
        yield event;
        continue;
      }
      if (this.#ended) return;
      // Like events.on(): a pending next() keeps Node running.
      const release = this.#init.keepAlive();
      try {
        await new Promise<void>((resolve) => (this.#wake = resolve));
      } finally {
        release();
        this.#wake = undefined;
      }
    }
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#unsubscribe();
    this.#wake?.();
  }
}
