/**
 * One exec in a running container through the supervisor, as ExecSync and
 * the streaming server's exec both need it: FIFOs for its stdio, the exit
 * taken from the supervisor's events (subscribed before the process starts,
 * so no exit is missed), input copied in, outputs copied out, terminal
 * sizes forwarded, killed at its timeout or when the caller gives up, and
 * nothing left behind (the FIFO folder goes; the supervisor forgets the
 * process once it has exited).
 */
import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerExitedError } from '../runtime/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import type { StdioFifos } from '../supervisor/stdio-fifos.js';
import { openExecFifos } from './exec-fifos.js';
import type { TerminalSize } from './streaming/types.js';

/** After the exit, how long the outputs may take to end (the shim drains them; a child may hold them). */
export const EXEC_DRAIN_MS = 5_000;
const SIGKILL = 9;

export interface ExecProcessOptions {
  supervisor: SupervisorApi;
  /** Where the exec's FIFO folder is made. */
  fifoRoot: string;
  containerId: string;
  cmd: string[];
  tty: boolean;
  /** The process's whole environment; default: the container's own. */
  env?: string[];
  /** Copied into the process's stdin; its end is the process's end-of-file. */
  stdin: Readable | null;
  stdout: Writable | null;
  /** Ignored with a tty (the terminal has one output). */
  stderr: Writable | null;
  resize?: AsyncIterable<TerminalSize> | null;
  /** Aborting kills the process (SIGKILL). */
  signal?: AbortSignal;
  /** Kills the process after this many ms; 0 or absent: no limit. */
  timeoutMs?: number;
  drainMs?: number;
}

export interface ExecResult {
  exitCode: number;
  /** The process was killed at `timeoutMs`. */
  timedOut: boolean;
}

/** A fresh process id: `exec-` and 16 random hex digits. */
export function newExecId(): string {
  return `exec-${randomBytes(8).toString('hex')}`;
}

/** A stream's end, close or error, whichever first. */
function ended(stream: Readable): Promise<void> {
  return finished(stream).catch(() => {});
}

/** Copies `from` into `to` without ending `to`; a `to` gone bad just stops receiving. */
function copyOut(from: Readable | null, to: Writable | null): Promise<void> {
  if (!from) return Promise.resolve();
  if (!to) {
    from.resume();
    return ended(from);
  }
  from.pipe(to, { end: false });
  to.once('error', () => {
    from.unpipe(to);
    from.resume();
  });
  return ended(from);
}

/** The exit status of process `pid`, from a subscription made before it started. */
async function exitOf(
  events: AsyncIterable<{ type: string; pid: string; status: number }>,
  pid: string,
  containerId: string,
): Promise<number> {
  for await (const event of events) {
    if (event.type === 'exit' && event.pid === pid) return event.status;
  }
  throw new ContainerExitedError(`container ${containerId}: lost the exit of exec ${pid}`);
}

export async function runExecProcess(options: ExecProcessOptions): Promise<ExecResult> {
  const { supervisor, containerId, tty } = options;
  options.signal?.throwIfAborted();
  const execId = newExecId();
  const fifos = await openExecFifos(options.fifoRoot, execId, {
    stdin: options.stdin !== null,
    stdout: options.stdout !== null,
    stderr: options.stderr !== null && !tty,
  });
  const subscription = supervisor.subscribe({ id: containerId });
  const exit = exitOf(subscription, execId, containerId);
  // Until it is awaited (after the start), a lost subscription must not be an unhandled rejection.
  exit.catch(() => {});
  const cleanups: Array<() => void> = [];
  try {
    await supervisor.addProcess({
      id: containerId,
      pid: execId,
      args: options.cmd,
      terminal: tty,
      ...(options.env ? { env: options.env } : {}),
      ...fifos.paths,
    });
    fifos.release();
    let timedOut = false;
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      // The process may have exited on its own meanwhile: nothing to kill then.
      supervisor.signal(containerId, execId, SIGKILL).catch(() => {});
    };
    if (options.timeoutMs && options.timeoutMs > 0) {
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, options.timeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    if (options.signal) {
      const signal = options.signal;
      signal.addEventListener('abort', kill, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', kill));
      if (signal.aborted) kill();
    }
    copyIn(options, fifos, execId, cleanups);
    const resizing = new AbortController();
    cleanups.push(() => resizing.abort());
    if (tty && options.resize) void followResizes(options, execId, resizing.signal);
    const outputs = Promise.all([
      copyOut(fifos.streams.stdout, options.stdout),
      copyOut(fifos.streams.stderr, options.stderr),
    ]);
    const exitCode = await exit;
    await Promise.race([
      outputs,
      sleep(options.drainMs ?? EXEC_DRAIN_MS, undefined, { ref: false }),
    ]);
    return { exitCode, timedOut };
  } finally {
    for (const cleanup of cleanups) cleanup();
    subscription.close();
    fifos.close();
  }
}

/** The caller's input into the process; its end closes the process's stdin (a terminal's too). */
function copyIn(
  options: ExecProcessOptions,
  fifos: StdioFifos,
  execId: string,
  cleanups: Array<() => void>,
): void {
  const input = options.stdin;
  const target = fifos.streams.stdin;
  if (!input || !target) return;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    input.unpipe(target);
    target.end(() => {
      // A terminal's input is not ended by its FIFO's end: the shim closes it when told.
      if (options.tty) {
        options.supervisor
          .updateProcess({ id: options.containerId, pid: execId, closeStdin: true })
          .catch(() => {});
      }
    });
  };
  input.pipe(target, { end: false });
  input.once('end', finish);
  target.once('error', () => {
    done = true;
    input.unpipe(target);
    input.resume();
  });
  cleanups.push(() => {
    done = true;
    input.unpipe(target);
    input.off('end', finish);
  });
}

async function followResizes(
  options: ExecProcessOptions,
  execId: string,
  stop: AbortSignal,
): Promise<void> {
  if (!options.resize) return;
  for await (const size of options.resize) {
    if (stop.aborted) return;
    if (size.width === 0 && size.height === 0) continue;
    await options.supervisor
      .updateProcess({
        id: options.containerId,
        pid: execId,
        width: size.width,
        height: size.height,
      })
      .catch(() => {});
  }
}
