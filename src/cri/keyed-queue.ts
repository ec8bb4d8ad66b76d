/**
 * One operation at a time per key (a pod, a container, a network
 * attachment), operations on other keys running alongside: the CRI's RPCs
 * for one object may come concurrently (a kubelet retrying), and each must
 * see what the one before it left.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `run` after every earlier operation on `key` has settled, failed or not. */
  run<T>(key: string, run: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(run, run);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, settled);
    // The map keeps only keys with work queued.
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return next;
  }
}
