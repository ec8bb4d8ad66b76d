/**
 * Starts a berth-shim and waits for its one-line readiness report, bounded by
 * a timeout and an AbortSignal. When either fires, the shim's whole process
 * group (the shim leads its own session: the runtime it started is in it) is
 * killed, and the promise settles once the shim is reaped.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { AbortError, ContainerStartTimeoutError, ShimExitedError } from '../errors.js';
import { shimArgs, type ShimInvocation } from './argv.js';
import { parseReadyLine, type ReadyReport } from './protocol.js';

export interface ShimLaunchOptions {
  shim: string;
  /** The process folder; the shim runs there. */
  cwd: string;
  invocation: Omit<ShimInvocation, 'readyFd'>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

const READY_FD = 3;
/** After SIGKILL, how long to wait for the kernel to hand the shim back. */
const REAP_WAIT_MS = 1000;

export function launchShim(options: ShimLaunchOptions): Promise<ReadyReport> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new AbortError(undefined, { cause: options.signal.reason }));
      return;
    }
    const child = spawn(options.shim, shimArgs({ ...options.invocation, readyFd: READY_FD }), {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const ready = child.stdio[READY_FD] as Readable;
    let received = '';
    let settled = false;
    let exited = false;
    child.once('exit', () => (exited = true));

    const settle = (outcome: ReadyReport | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      ready.destroy();
      child.unref();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    let ending = false;
    /**
     * Kills the shim's group and settles once the shim is reaped (bounded): a
     * start that is not going ahead must leave nothing of its runtime running.
     * The first outcome chosen stands.
     */
    const killAndSettle = (outcome: ReadyReport | Error): void => {
      if (settled || ending) return;
      ending = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      if (exited || child.pid === undefined) return settle(outcome);
      const giveUp = setTimeout(() => settle(outcome), REAP_WAIT_MS);
      child.once('exit', () => {
        clearTimeout(giveUp);
        settle(outcome);
      });
    };
    const onAbort = (): void =>
      killAndSettle(new AbortError(undefined, { cause: options.signal?.reason }));
    const timer = setTimeout(
      () => killAndSettle(new ContainerStartTimeoutError()),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err) =>
      settle(new ShimExitedError(`cannot start shim: ${err.message}`, { cause: err })),
    );
    ready.setEncoding('utf8');
    ready.on('data', (chunk: string) => {
      received += chunk;
      const newline = received.indexOf('\n');
      if (newline < 0) return;
      const line = received.slice(0, newline);
      const report = parseReadyLine(line);
      if (report?.ok) settle(report);
      // A refusal: what the runtime left running in the shim's group (a child
      // of a runtime that died mid-create, say) must not finish the job unwatched.
      else if (report) killAndSettle(report);
      else
        killAndSettle(
          new ShimExitedError(`unexpected report from shim: ${JSON.stringify(line.slice(0, 200))}`),
        );
    });
    // The shim is gone without a report; whatever it started (a runtime mid-way) goes with it.
    const shimGone = () => killAndSettle(new ShimExitedError());
    ready.on('close', shimGone);
    ready.on('error', shimGone);
  });
}
