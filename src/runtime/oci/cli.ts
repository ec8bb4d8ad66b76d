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
import { countInFlight, runThroughSpawner, spawnerTakes } from '../shim/spawner.js';

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
  /** The shim binary, whose resident spawner can run the runtime for us (see runRuntime). */
  readonly shim?: string;
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

/** How a runtime call ended, whichever way it was run. */
interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  /** It could not be started: errno name and message. */
  notStarted?: { code: string; message: string };
  /** Its spawner died while it ran: nobody knows how it ended. */
  lost?: boolean;
}

/**
 * Runs `runtime [runtimeArgs] --log-format json ARGS...` and returns its
 * stdout. The runtime is killed and reaped when the time runs out
 * (RuntimeTimeoutError) or `signal` aborts (AbortError). It is forked by the
 * shim's resident spawner when one is up or other starts are in flight (a
 * fork of Node costs milliseconds of event loop), else by Node itself.
 */
export async function runRuntime(
  binary: RuntimeBinary,
  args: readonly string[],
  options: RuntimeCommandOptions = {},
): Promise<string> {
  const argv = [...binary.runtimeArgs, '--log-format', 'json', ...args];
  const command = [binary.runtime, ...argv];
  if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
  const timeoutMs = options.timeoutMs ?? DEFAULT_RUNTIME_CALL_TIMEOUT_MS;
  const outcome = await (runThroughShimSpawner(binary, argv, timeoutMs, options) ??
    runDirectlyCounted(binary, argv, timeoutMs, options));
  const verb = `${binary.runtime} ${args[0] ?? ''}`;
  if (outcome.aborted) throw new AbortError(undefined, { cause: options.signal?.reason });
  if (outcome.timedOut)
    throw new RuntimeTimeoutError(`${verb}: no answer after ${timeoutMs} ms`, command);
  if (outcome.notStarted) {
    const { code, message } = outcome.notStarted;
    if (code === 'ENOENT' || code === 'EACCES')
      throw new BinaryNotFoundError(`OCI runtime ${JSON.stringify(binary.runtime)} not found`, {
        cause: Object.assign(new Error(message), { code }),
      });
    throw new RuntimeError(`${verb}: ${message}`, command, null);
  }
  if (outcome.lost)
    throw new RuntimeError(
      `${verb}: lost with the spawner that ran it; outcome unknown`,
      command,
      null,
    );
  if (outcome.code === 0) return outcome.stdout;
  const message =
    lastRuntimeError(outcome.stderr) ??
    lastRuntimeError(outcome.stdout) ??
    (outcome.signal ? `killed by ${outcome.signal}` : `exited with status ${outcome.code}`);
  throw new RuntimeError(`${verb}: ${message}`, command, outcome.code);
}

async function runDirectlyCounted(
  binary: RuntimeBinary,
  argv: string[],
  timeoutMs: number,
  options: RuntimeCommandOptions,
): Promise<Outcome> {
  const release = binary.shim ? countInFlight() : () => {};
  try {
    return await runDirectly(binary, argv, timeoutMs, options);
  } finally {
    release();
  }
}

function runDirectly(
  binary: RuntimeBinary,
  argv: string[],
  timeoutMs: number,
  options: RuntimeCommandOptions,
): Promise<Outcome> {
  return new Promise((resolve) => {
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
        const outcome: Outcome = {
          code: 0,
          signal: null,
          stdout,
          stderr,
          timedOut: false,
          aborted: false,
        };
        if (!err) return resolve(outcome);
        if (err.name === 'AbortError') return resolve({ ...outcome, aborted: true });
        if (err.killed && err.signal === 'SIGKILL' && !options.signal?.aborted)
          return resolve({ ...outcome, timedOut: true });
        if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'EACCES'))
          return resolve({
            ...outcome,
            notStarted: { code: String(err.code), message: err.message },
          });
        resolve({
          ...outcome,
          code: typeof err.code === 'number' ? err.code : null,
          signal: err.signal ?? null,
        });
      },
    );
    // A runtime that exits without reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => {});
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Undefined when the spawner is not the way (see spawnerTakes). */
function runThroughShimSpawner(
  binary: RuntimeBinary,
  argv: string[],
  timeoutMs: number,
  options: RuntimeCommandOptions,
): Promise<Outcome> | undefined {
  const shim = binary.shim;
  if (!shim) return undefined;
  let executable: string;
  try {
    executable = resolvedExecutable(binary.runtime);
  } catch {
    return undefined; // Node's own spawn reports it
  }
  const request = { executable, args: argv, cwd: process.cwd(), input: options.input };
  if (!spawnerTakes(shim, request)) return undefined;
  return new Promise<Outcome>((resolve) => {
    let timedOut = false;
    let aborted = false;
    let kill = () => {};
    const onAbort = () => {
      aborted = true;
      kill();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (outcome: Outcome | Promise<Outcome>) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const nothing = { code: null, signal: null, stdout: '', stderr: '' };
    kill = runThroughSpawner(shim, request, {
      exited: (result) => finish({ ...result, timedOut, aborted }),
      error: (code, message) => {
        if (code === 'ENOENT') resolvedExecutables.clear();
        finish({ ...nothing, timedOut, aborted, notStarted: { code, message } });
      },
      // Not started yet: this process runs it after all (the time limit starts again).
      lost: (spawned) =>
        finish(
          spawned
            ? { ...nothing, timedOut, aborted, lost: true }
            : runDirectlyCounted(binary, argv, timeoutMs, options),
        ),
    });
  });
}

/** PATH lookups of runtime names, kept while PATH stays the same (one access(2) per PATH entry saved per call). */
const resolvedExecutables = new Map<string, string>();

function resolvedExecutable(name: string): string {
  const key = `${process.env.PATH ?? ''}\0${name}`;
  let path = resolvedExecutables.get(key);
  if (path === undefined) {
    path = resolveExecutable(name, 'OCI runtime');
    resolvedExecutables.set(key, path);
  }
  return path;
}
