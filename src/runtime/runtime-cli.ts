/**
 * Runs the OCI runtime's one-shot commands (start, kill, pause, state, delete,
 * update, checkpoint...) and turns a refusal into a RuntimeError carrying the
 * runtime's own message.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { AbortError, BinaryNotFoundError, RuntimeError, isErrnoException } from './errors.js';

export interface RuntimeCommandOptions {
  signal?: AbortSignal;
  /** Bytes written to the command's stdin. */
  input?: string;
}

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
 * The last error message in a runtime log: runc and crun write JSON lines
 * `{"level":"error","msg":"..."}` with `--log-format json`; anything else is
 * taken as plain text.
 */
export function lastRuntimeError(text: string): string | undefined {
  let lastError: string | undefined;
  let lastPlain: string | undefined;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('{')) {
      try {
        const entry = JSON.parse(trimmed) as { level?: string; msg?: string };
        if (entry.level === 'error' || entry.level === 'fatal') lastError = entry.msg ?? lastError;
        continue;
      } catch {
        // Not JSON after all: fall through to plain text.
      }
    }
    lastPlain = trimmed;
  }
  return lastError ?? lastPlain;
}

/** The runtime's last error message from a log file, if it wrote one. */
export function lastRuntimeErrorInFile(path: string): string | undefined {
  try {
    return lastRuntimeError(readFileSync(path, 'utf8'));
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** Runs `runtime [runtimeArgs] --log-format json ARGS...` and returns its stdout. */
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
    const child = execFile(
      binary.runtime,
      argv,
      { signal: options.signal, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) {
          resolve(stdout);
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
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
