/**
 * Runs the OCI runtime's one-shot commands (start, pause, state, delete,
 * update, checkpoint...), each bounded in time, and turns a refusal into a
 * RuntimeError carrying the runtime's own message.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import {
  AbortError,
  BinaryNotFoundError,
  RuntimeError,
  RuntimeTimeoutError,
  isErrnoException,
} from '../errors.js';
import { lastRuntimeError } from './log.js';

export interface RuntimeCommandOptions {
  signal?: AbortSignal;
  /** Bytes written to the command's stdin. */
  input?: string;
  /** Killed (SIGKILL) after this long; default DEFAULT_RUNTIME_CALL_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * The bound of a runtime call that has no start timeout of its own (state,
 * pause, resume, update, delete, start). runc answers these in tens of ms; a
 * runtime that takes seconds is stuck.
 */
export const DEFAULT_RUNTIME_CALL_TIMEOUT_MS = 10_000;
/** Checkpoints dump the container's memory through CRIU: minutes, not seconds. */
export const CHECKPOINT_TIMEOUT_MS = 300_000;

export interface RuntimeBinary {
  /** Name or path of the OCI runtime (runc, crun, or a compatible one). */
  readonly runtime: string;
  /** Global arguments placed before every subcommand (e.g. `--root`, `--systemd-cgroup`). */
  readonly runtimeArgs: readonly string[];
}

/**
 * Resolves a program name the way execvp would, so that a missing binary is
 * refused up front with a clear error instead of failing inside the shim.
 */
export function resolveExecutable(nameOrPath: string, what: string): string {
  const candidates = nameOrPath.includes('/')
    ? [nameOrPath]
    : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, nameOrPath));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Try the next PATH entry.
    }
  }
  throw new BinaryNotFoundError(
    `${what} ${JSON.stringify(nameOrPath)} not found or not executable`,
  );
}

/**
 * Runs `runtime [runtimeArgs] --log-format json ARGS...` and returns its
 * stdout. The runtime is killed and reaped when the time runs out
 * (RuntimeTimeoutError) or `signal` aborts (AbortError).
 */
export function runRuntime(
  binary: RuntimeBinary,
  args: readonly string[],
  options: RuntimeCommandOptions = {},
): Promise<string> {
  const argv = [...binary.runtimeArgs, '--log-format', 'json', ...args];
  const command = [binary.runtime, ...argv];
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new AbortError(undefined, { cause: options.signal.reason }));
      return;
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_RUNTIME_CALL_TIMEOUT_MS;
    const child = execFile(
      binary.runtime,
      argv,
      {
        signal: options.signal,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        if (!err) {
          resolve(stdout);
          return;
        }
        if (err.killed && !options.signal?.aborted && err.signal === 'SIGKILL') {
          reject(
            new RuntimeTimeoutError(
              `${binary.runtime} ${args[0] ?? ''}: no answer after ${timeoutMs} ms`,
              command,
            ),
          );
          return;
        }
        if (err.name === 'AbortError') {
          reject(new AbortError(undefined, { cause: options.signal?.reason }));
          return;
        }
        if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'EACCES')) {
          reject(
            new BinaryNotFoundError(`OCI runtime ${JSON.stringify(binary.runtime)} not found`, {
              cause: err,
            }),
          );
          return;
        }
        const exitCode = typeof err.code === 'number' ? err.code : null;
        const message =
          lastRuntimeError(stderr) ?? lastRuntimeError(stdout) ?? `exited with status ${exitCode}`;
        reject(
          new RuntimeError(`${binary.runtime} ${args[0] ?? ''}: ${message}`, command, exitCode),
        );
      },
    );
    // A runtime that exits without reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => {});
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}
