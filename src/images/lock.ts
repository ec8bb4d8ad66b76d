/**
 * The store's exclusive lock, across processes (the CLI and berthd share a
 * store). It is a flock(2) on `<root>/lock` held by a `flock` child process:
 * Node has no flock, and a kernel lock is freed by itself when its holder
 * dies, so a crashed puller never leaves the store locked.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { StoreError } from './errors.js';

const PING = 'locked\n';

/** The lock files the current async context holds: a holder asking again gets it at once (no self-deadlock). */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/**
 * Holds the lock while `fn` runs. Waits for other holders; the wait ends with
 * the signal. Reentrant within one async context (`fn` may call the store's
 * locking methods); separate contexts of one process exclude each other.
 */
export async function withFileLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  signal?.throwIfAborted();
  const mine = held.getStore();
  if (mine?.has(lockFile)) return fn();
  // `cat` runs only once flock holds the lock, and holds it until its stdin closes: what we write to
  // it comes back when the lock is ours.
  const holder = spawn('flock', ['--exclusive', lockFile, 'cat'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const released = new Promise<void>((resolve) => holder.once('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      let stdout = '';
      const onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => signal?.removeEventListener('abort', onAbort);
      holder.stderr.setEncoding('utf8');
      holder.stderr.on('data', (chunk: string) => (stderr += chunk));
      holder.stdout.setEncoding('utf8');
      holder.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes(PING)) {
          settle();
          resolve();
        }
      });
      holder.stdin.write(PING);
      holder.once('error', (err) => {
        settle();
        reject(
          new StoreError(`image store: cannot lock ${lockFile}: ${err.message}`, lockFile, {
            cause: err,
          }),
        );
      });
      holder.once('exit', (code) => {
        settle();
        reject(
          new StoreError(
            `image store: cannot lock ${lockFile}: ${stderr.trim() || `flock exited ${code}`}`,
            lockFile,
          ),
        );
      });
    });
    return await held.run(new Set([...(mine ?? []), lockFile]), fn);
  } finally {
    holder.stdin.end();
    if (holder.exitCode === null && holder.signalCode === null && holder.pid !== undefined) {
      // A wait cut short by the signal: flock is still waiting; end it (our child, by its pid).
      if (signal?.aborted) holder.kill('SIGTERM');
    }
    await released;
  }
}
