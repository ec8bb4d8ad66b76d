/**
 * A CRI container's stdio: FIFOs in its io folder that the shim writes (and
 * reads stdin from), a holder process keeping them open across berthd
 * restarts, and berthd's readers copying the output into the CRI log
 * (CriLogWriter) and to attached clients.
 *
 * Why a holder: a FIFO whose last reader goes away (berthd killed) makes the
 * shim's writes fail with EPIPE, and the shim then drops the output until a
 * reader comes back. The holder, a `sleep` with every FIFO open for reading
 * and writing, is a reader that outlives berthd: what the container writes
 * while berthd is down waits in the pipe (the container slows down once it
 * is full), and a restarted berthd reads it. Being a writer too, it keeps
 * berthd's reader from seeing end-of-file before the shim has opened its
 * end; at the container's exit berthd kills it, and the output ends once the
 * shim's end is closed.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { isSameProcess, readStartTime } from '../runtime/index.js';
import { CriLogWriter, type LogStream } from './logs.js';

const execFileAsync = promisify(execFile);
/** The most output queued for one attached client. */
const MAX_ATTACH_BACKLOG = 1024 * 1024;

/** The FIFOs of one container; '' where the container has none (stderr with a tty, stdin unasked). */
export interface IoPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

export interface Holder {
  pid: number;
  starttime: string;
}

export function ioPaths(dir: string, options: { stdin: boolean; tty: boolean }): IoPaths {
  return {
    stdin: options.stdin ? join(dir, 'stdin') : '',
    stdout: join(dir, 'stdout'),
    stderr: options.tty ? '' : join(dir, 'stderr'),
  };
}

/** Makes the folder and its FIFOs (owner-only). */
export async function makeFifos(dir: string, paths: IoPaths): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Node has no mkfifo(3); one mkfifo(1) makes them all.
  await execFileAsync('mkfifo', [
    '-m',
    '0600',
    ...[paths.stdin, paths.stdout, paths.stderr].filter(Boolean),
  ]);
}

/** Starts the holder of `fifos` (each opened read-write, so it is reader and writer at once). */
export async function spawnHolder(fifos: readonly string[]): Promise<Holder> {
  const fds: number[] = [];
  try {
    for (const path of fifos) fds.push(openSync(path, constants.O_RDWR | constants.O_NONBLOCK));
    const child = spawn('sleep', ['infinity'], {
      stdio: ['ignore', 'ignore', 'ignore', ...fds],
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    const pid = child.pid!;
    return { pid, starttime: readStartTime(pid) ?? '' };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** Kills the holder, if it is still the process that was started. */
export function killHolder(holder: Holder | undefined): void {
  if (!holder || !isSameProcess(holder.pid, holder.starttime || undefined)) return;
  try {
    process.kill(holder.pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** One FIFO end as a socket (non-blocking, read or written by libuv). */
function fifoSocket(path: string, write: boolean): Socket {
  const fd = openSync(
    path,
    (write ? constants.O_WRONLY : constants.O_RDONLY) | constants.O_NONBLOCK,
  );
  const socket = new Socket({ fd, readable: !write, writable: write });
  // EPIPE once the container is gone, reported where the stream is used.
  socket.on('error', () => {});
  return socket;
}

/** A sink for output with no log file. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

/**
 * The container's output, read from its FIFOs: into the log file (when it
 * has one) and to every attached client. `done` settles once both streams
 * ended (the shim's and the holder's ends closed) and the log is closed.
 */
export class ContainerOutput {
  readonly done: Promise<void>;
  readonly #readers: Socket[] = [];
  readonly #log: CriLogWriter | undefined;
  readonly #listeners = new Set<{ stream: LogStream; target: Writable }>();

  private constructor(paths: IoPaths, log: CriLogWriter | undefined) {
    this.#log = log;
    const copies: Promise<void>[] = [];
    for (const name of ['stdout', 'stderr'] as const) {
      if (!paths[name]) continue;
      const reader = fifoSocket(paths[name], false);
      this.#readers.push(reader);
      reader.on('data', (chunk: Buffer) => {
        for (const listener of this.#listeners)
          // A client that does not keep up loses output rather than growing berthd without bound.
          if (
            listener.stream === name &&
            listener.target.writable &&
            listener.target.writableLength < MAX_ATTACH_BACKLOG
          )
            listener.target.write(chunk);
      });
      copies.push(
        log
          ? log.copy(reader, name).catch(() => {})
          : new Promise<void>((resolve) =>
              reader
                .pipe(discard())
                .once('finish', resolve)
                .once('error', () => resolve()),
            ),
      );
    }
    this.done = Promise.all(copies).then(async () => {
      await log?.close().catch(() => {});
    });
  }

  /** Opens the readers (the FIFOs must have a writer already: the holder) and the log file. */
  static async open(paths: IoPaths, logPath: string): Promise<ContainerOutput> {
    let log: CriLogWriter | undefined;
    if (logPath) {
      await mkdir(dirname(logPath), { recursive: true });
      log = await CriLogWriter.open(logPath);
    }
    try {
      return new ContainerOutput(paths, log);
    } catch (err) {
      await log?.close();
      throw err;
    }
  }

  /** Sends the output from now on to these streams too (a tty has stdout only); returns the undo. */
  attach(stdout: Writable | null, stderr: Writable | null): () => void {
    const added: Array<{ stream: LogStream; target: Writable }> = [];
    if (stdout) added.push({ stream: 'stdout', target: stdout });
    if (stderr) added.push({ stream: 'stderr', target: stderr });
    for (const listener of added) this.#listeners.add(listener);
    return () => {
      for (const listener of added) this.#listeners.delete(listener);
    };
  }

  /** ReopenContainerLog: the log path opened again (after the kubelet renamed the file away). */
  async reopen(): Promise<void> {
    await this.#log?.reopen();
  }

  /** Stops reading (berthd closing): what is in the pipes stays there for the next berthd. */
  close(): void {
    for (const reader of this.#readers) reader.destroy();
    void this.#log?.close().catch(() => {});
  }
}

/** A writer on the stdin FIFO, for one attach session or to keep it open until the first one ends. */
export function openStdin(path: string): Socket {
  return fifoSocket(path, true);
}
