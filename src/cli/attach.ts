/**
 * Attaching this terminal (or these pipes) to a container process: FIFOs the
 * CLI makes itself for berthd (src/supervisor/stdio-fifos.ts), copying our
 * stdin/stdout/stderr through them, raw mode and window sizes for a terminal.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { StdioFifos } from '../supervisor/stdio-fifos.js';
import { forwardInterrupts } from './progress.js';

export type { StdioPaths } from '../supervisor/stdio-fifos.js';

/** The container side's streams, as the library or our FIFOs give them. */
export interface ProcessStreams {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
}

/**
 * The FIFOs of a process berthd starts for us, in a fresh owner-only temp
 * folder. With a terminal the process has no separate stderr (the pty
 * carries both), so its path is '' (/dev/null).
 */
export function openAttachFifos(terminal: boolean): Promise<StdioFifos> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-'));
  return StdioFifos.open(dir, { stdin: true, stdout: true, stderr: !terminal });
}

export interface Copying {
  /** Both outputs have ended (the process's side closed them). */
  drained: Promise<void>;
  /** Stops copying; nothing more is read or written. */
  stop(): void;
}

/** A stream's end, or its close, or an error: whichever comes first. */
function ended(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    stream
      .once('end', resolve)
      .once('close', resolve)
      .once('error', () => resolve());
  });
}

/**
 * Copies our stdin into the process and its outputs to our stdout/stderr.
 * Our stdin's end closes the process's input stream; `onStdinEnd` runs after
 * that (for a terminal, where the stream's end is not the process's EOF).
 */
export function copyStdio(
  streams: ProcessStreams,
  options: { stdin?: Readable; onStdinEnd?: () => void } = {},
): Copying {
  const input = options.stdin ?? process.stdin;
  const outputs: Promise<void>[] = [];
  const pipes: Array<() => void> = [];
  for (const [from, to] of [
    [streams.stdout, process.stdout],
    [streams.stderr, process.stderr],
  ] as const) {
    if (!from) continue;
    outputs.push(ended(from));
    from.pipe(to, { end: false });
    // A reader of ours that went away (EPIPE): keep draining the process, discard.
    const onError = () => {
      from.unpipe(to);
      from.resume();
    };
    to.on('error', onError);
    pipes.push(() => {
      to.off('error', onError);
      from.unpipe(to);
      from.destroy();
    });
  }
  const target = streams.stdin;
  if (target) {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      input.unpipe(target);
      target.end(() => options.onStdinEnd?.());
    };
    input.pipe(target, { end: false });
    input.once('end', finish);
    target.once('error', () => {
      // The process is gone or closed its stdin: stop reading ours.
      done = true;
      input.unpipe(target);
      input.pause();
    });
    pipes.push(() => {
      done = true;
      input.unpipe(target);
      input.pause();
      target.destroy();
    });
  }
  return {
    drained: Promise.all(outputs).then(() => {}),
    stop: () => {
      for (const undo of pipes.splice(0)) undo();
    },
  };
}

/** Raw mode on our terminal (when stdin is one); returns the undo. */
export function enterRawMode(): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdin.setRawMode(false);
    } catch {
      // The terminal is gone.
    }
  };
  // Whatever way the CLI ends, the terminal is left usable.
  process.once('exit', restore);
  return () => {
    process.off('exit', restore);
    restore();
  };
}

/** Our terminal's size (stdout's, else stdin's), or undefined when neither is a terminal. */
export function terminalSize(): { width: number; height: number } | undefined {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.isTTY) {
      const [width, height] = stream.getWindowSize();
      if (width > 0 && height > 0) return { width, height };
    }
  }
  return undefined;
}

/** Calls `onResize` with the size now and after each window change; returns the undo. */
export function followWindowSize(
  onResize: (size: { width: number; height: number }) => void,
): () => void {
  const send = () => {
    const size = terminalSize();
    if (size) onResize(size);
  };
  send();
  process.on('SIGWINCH', send);
  return () => void process.off('SIGWINCH', send);
}

/** After the exit, how long the output may take to end (the shim drained it already). */
const DRAIN_WAIT_MS = 5_000;

/** What our terminal needs of a started process to stay attached to it. */
export interface AttachedProcess {
  streams: ProcessStreams;
  terminal: boolean;
  /** A terminal's end-of-file, sent once our input is all written (pipes end with their stream). */
  closeStdin(): void;
  resize(width: number, height: number): void;
  signal(number: number): void;
  wait(): Promise<number>;
}

/**
 * Our stdio attached to a started process until it exits: raw mode and
 * window size for a terminal, our interrupts forwarded (forwardInterrupts),
 * its output drained. Resolves with its exit status; all undone after.
 */
export async function attachUntilExit(proc: AttachedProcess): Promise<number> {
  let restoreTerminal = () => {};
  let stopResize = () => {};
  let stopSignals = () => {};
  let copying: Copying | undefined;
  try {
    if (proc.terminal) restoreTerminal = enterRawMode();
    copying = copyStdio(proc.streams, proc.terminal ? { onStdinEnd: () => proc.closeStdin() } : {});
    if (proc.terminal)
      stopResize = followWindowSize(({ width, height }) => proc.resize(width, height));
    stopSignals = forwardInterrupts((number) => proc.signal(number));
    const status = await proc.wait();
    await Promise.race([copying.drained, sleep(DRAIN_WAIT_MS, undefined, { ref: false })]);
    return status;
  } finally {
    stopSignals();
    stopResize();
    restoreTerminal();
    copying?.stop();
  }
}
