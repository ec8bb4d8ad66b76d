/**
 * Starts a berth-shim and waits for its one-line readiness report on fd 3
 * (`ok PID` or `error MESSAGE`; see shim/PROTOCOL.md), bounded by a timeout
 * and an AbortSignal.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { AbortError, ContainerStartTimeoutError, ShimExitedError } from './errors.js';

export interface ShimLaunchOptions {
  shim: string;
  /** The process folder; the shim runs there. */
  cwd: string;
  args: string[];
  timeoutMs: number;
  signal?: AbortSignal;
}

export type ShimReport = { ok: true; pid: number } | { ok: false; message: string };

const READY_FD = 3;

export function launchShim(options: ShimLaunchOptions): Promise<ShimReport> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new AbortError(undefined, { cause: options.signal.reason }));
      return;
    }
    const child = spawn(options.shim, ['--ready-fd', String(READY_FD), ...options.args], {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const ready = child.stdio[READY_FD] as Readable;
    let received = '';
    let settled = false;

    const killGroup = (): void => {
      // The shim leads its own session, so its group holds the runtime it started too.
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const settle = (outcome: ShimReport | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      ready.destroy();
      child.unref();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = (): void => {
      killGroup();
      settle(new AbortError(undefined, { cause: options.signal?.reason }));
    };
    const timer = setTimeout(() => {
      killGroup();
      settle(new ContainerStartTimeoutError());
    }, options.timeoutMs);
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
      const space = line.indexOf(' ');
      const word = space < 0 ? line : line.slice(0, space);
      const rest = space < 0 ? '' : line.slice(space + 1);
      if (word === 'ok' && /^\d+$/.test(rest)) settle({ ok: true, pid: Number(rest) });
      else if (word === 'error') settle({ ok: false, message: rest });
      else settle(new ShimExitedError(`unexpected report from shim: ${JSON.stringify(line)}`));
    });
    // The shim is gone; whatever it started (a runtime mid-way) goes with it.
    const shimExited = () => {
      if (settled) return;
      killGroup();
      settle(new ShimExitedError());
    };
    ready.on('close', shimExited);
    ready.on('error', shimExited);
  });
}
