/**
 * Starts a berth-shim and waits for its one-line readiness report, bounded by
 * a timeout and an AbortSignal. When either fires, the shim's whole process
 * group (the shim leads its own session: the runtime it started is in it) is
 * killed, and the promise settles once the shim is gone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, ContainerStartTimeoutError, ShimExitedError } from '../errors.js';
import { isProcessLive } from '../procfs.js';
import { shimArgs, type ShimInvocation } from './argv.js';
import { parseReadyLine, type ReadyReport } from './protocol.js';
import { READY_FD, startShimProcess } from './spawner.js';

export interface ShimLaunchOptions {
  shim: string;
  /** The process folder; the shim runs there. */
  cwd: string;
  invocation: Omit<ShimInvocation, 'readyFd'>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** After SIGKILL, how long to wait for the shim to be gone. */
const REAP_WAIT_MS = 1000;

export function launchShim(options: ShimLaunchOptions): Promise<ReadyReport> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new AbortError(undefined, { cause: options.signal.reason }));
      return;
    }
    let pid: number | undefined;
    let settled = false;
    let killing = false;
    let killWanted: ReadyReport | Error | undefined;

    // Assigned below; a start may report synchronously before that.
    let release: () => void = () => {};
    const settle = (outcome: ReadyReport | Error): void => {
      if (settled) return;
      settled = true;
      release();
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    /**
     * Kills the shim's group and settles once the shim is gone (bounded): a
     * start that is not going ahead must leave nothing of its runtime running.
     * The first outcome chosen stands.
     */
    const killAndSettle = (outcome: ReadyReport | Error): void => {
      if (settled || killing) return;
      if (pid === undefined) {
        // Not started yet: kill it as soon as its PID is known.
        killWanted = outcome;
        return;
      }
      killing = true;
      const target = pid;
      try {
        process.kill(-target, 'SIGKILL');
      } catch {
        // Already gone.
      }
      void (async () => {
        const deadline = Date.now() + REAP_WAIT_MS;
        while (isProcessLive(target) && Date.now() < deadline) await sleep(5);
        settle(outcome);
      })();
    };
    const onAbort = (): void =>
      killAndSettle(new AbortError(undefined, { cause: options.signal?.reason }));
    const timer = setTimeout(
      () => killAndSettle(new ContainerStartTimeoutError()),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });

    release = startShimProcess(
      {
        shim: options.shim,
        args: shimArgs({ ...options.invocation, readyFd: READY_FD }),
        cwd: options.cwd,
      },
      {
        spawned(spawnedPid) {
          pid = spawnedPid;
          if (killWanted) killAndSettle(killWanted);
        },
        line(text) {
          if (killing) return;
          const report = parseReadyLine(text);
          if (report?.ok) settle(report);
          // A refusal: what the runtime left running in the shim's group (a child
          // of a runtime that died mid-create, say) must not finish the job unwatched.
          else if (report) killAndSettle(report);
          else
            killAndSettle(
              new ShimExitedError(
                `unexpected report from shim: ${JSON.stringify(text.slice(0, 200))}`,
              ),
            );
        },
        // The shim is gone without a report; whatever it started (a runtime mid-way) goes with it.
        gone: () => killAndSettle(new ShimExitedError()),
        error: (message) => settle(new ShimExitedError(`cannot start shim: ${message}`)),
      },
    );
  });
}
