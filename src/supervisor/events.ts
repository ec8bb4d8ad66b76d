/**
 * Event fan-out: every subscriber gets every event in order, first a replay
 * of the journal, then live ones. Each live subscriber has a bounded queue;
 * one that falls behind it is ended with SlowSubscriberError (naming the last
 * event it was given) rather than skipped silently, and nobody else waits
 * for it.
 */
import { SlowSubscriberError } from './errors.js';
import type { Journal } from './journal.js';
import {
  EventType,
  type EventSubscription,
  type SubscribeOptions,
  type SupervisorEvent,
} from './types.js';

export const DEFAULT_SUBSCRIBER_BUFFER = 1024;

class Subscriber implements EventSubscription {
  readonly #filterId: string | undefined;
  readonly #replay: SupervisorEvent[];
  readonly #live: boolean;
  readonly #limit: number;
  readonly #queue: SupervisorEvent[] = [];
  readonly #onClose: (sub: Subscriber) => void;
  #wake: (() => void) | undefined;
  #closed = false;
  #overflowed = false;
  #lastDelivered: bigint;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.close();

  constructor(
    options: SubscribeOptions,
    replay: SupervisorEvent[],
    live: SupervisorEvent | undefined,
    limit: number,
    onClose: (sub: Subscriber) => void,
  ) {
    this.#filterId = options.id || undefined;
    this.#replay = replay.filter((event) => this.#wants(event));
    if (live) this.#replay.push(live);
    this.#live = !options.storedOnly;
    this.#limit = limit;
    this.#onClose = onClose;
    this.#lastDelivered = options.since ?? 0n;
    this.#signal = options.signal;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (!this.#live) this.#closed = true;
  }

  #wants(event: SupervisorEvent): boolean {
    return (
      this.#filterId === undefined || event.type === EventType.Live || event.id === this.#filterId
    );
  }

  /** Called by the hub for each new event; false once this subscriber is out. */
  offer(event: SupervisorEvent): boolean {
    if (this.#closed) return false;
    if (!this.#wants(event)) return true;
    if (this.#queue.length >= this.#limit) {
      this.#overflowed = true;
      this.#closed = true;
      this.#wake?.();
      return false;
    }
    this.#queue.push(event);
    this.#wake?.();
    return true;
  }

  close(): void {
    if (this.#closed && !this.#live) return;
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#onClose(this);
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SupervisorEvent> {
    try {
      for (const event of this.#replay) {
        if (this.#signal?.aborted) return;
        this.#lastDelivered = event.timestamp;
        yield event;
      }
      this.#replay.length = 0;
      for (;;) {
        const event = this.#queue.shift();
        if (event) {
          this.#lastDelivered = event.timestamp;
          yield event;
          continue;
        }
        if (this.#overflowed) throw new SlowSubscriberError(this.#lastDelivered);
        if (this.#closed) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    } finally {
      this.close();
    }
  }
}

export class EventHub {
  readonly #subscribers = new Set<Subscriber>();
  readonly #journal: Journal;
  readonly #bufferLimit: number;
  readonly #nextLive: () => SupervisorEvent;

  constructor(
    journal: Journal,
    nextLive: () => SupervisorEvent,
    bufferLimit = DEFAULT_SUBSCRIBER_BUFFER,
  ) {
    this.#journal = journal;
    this.#nextLive = nextLive;
    this.#bufferLimit = bufferLimit;
  }

  get size(): number {
    return this.#subscribers.size;
  }

  /**
   * Replay and registration happen in one synchronous step, and events are
   * journaled and published in one too: no event is both replayed and
   * delivered live, none falls between.
   */
  subscribe(options: SubscribeOptions = {}): EventSubscription {
    const replay = options.since !== undefined ? this.#journal.since(options.since) : [];
    const live = options.storedOnly ? undefined : this.#nextLive();
    const subscriber = new Subscriber(options, replay, live, this.#bufferLimit, (sub) =>
      this.#subscribers.delete(sub),
    );
    if (!options.storedOnly && !options.signal?.aborted) this.#subscribers.add(subscriber);
    return subscriber;
  }

  publish(event: SupervisorEvent): void {
    for (const subscriber of this.#subscribers) {
      if (!subscriber.offer(event)) this.#subscribers.delete(subscriber);
    }
  }

  closeAll(): void {
    for (const subscriber of [...this.#subscribers]) subscriber.close();
  }
}
