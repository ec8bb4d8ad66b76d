/**
 * The caller's side of a process's stdio FIFOs. The supervisor takes a
 * process's stdio as paths (FIFOs or files the client made, as containerd
 * v0.2.8's clients did); the CLI (through berthd) and the CRI (its execs)
 * both make FIFOs in a folder of their own and read and write them as
 * non-blocking sockets.
 *
 * Until the shim has opened its ends, we hold a writer on each output FIFO
 * (so reading never sees a premature end-of-file) and a reader on the input
 * FIFO (so our writer can open); release() lets go of them once the process
 * runs, from when each FIFO ends as the shim closes it.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface StdioWanted {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** The paths the supervisor is given: '' for a stream not wanted (/dev/null). */
export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

/** Our ends: we write the process's input and read its outputs (null: not wanted). */
export interface StdioSockets {
  stdin: Socket | null;
  stdout: Socket | null;
  stderr: Socket | null;
}

export class StdioFifos {
  readonly paths: StdioPaths;
  readonly streams: StdioSockets = { stdin: null, stdout: null, stderr: null };
  readonly #holds: number[] = [];
  readonly #sockets: Socket[] = [];

  private constructor(
    readonly dir: string,
    wanted: StdioWanted,
  ) {
    this.paths = {
      stdin: wanted.stdin ? join(dir, 'stdin') : '',
      stdout: wanted.stdout ? join(dir, 'stdout') : '',
      stderr: wanted.stderr ? join(dir, 'stderr') : '',
    };
  }

  /**
   * Makes the FIFOs wanted in `dir` (an empty owner-only folder the caller
   * made, which close() removes) and opens our ends; on failure `dir` is
   * removed and nothing is left.
   */
  static async open(dir: string, wanted: StdioWanted): Promise<StdioFifos> {
    const fifos = new StdioFifos(dir, wanted);
    const { paths } = fifos;
    try {
      const names = [paths.stdin, paths.stdout, paths.stderr].filter(Boolean);
      // Node has no mkfifo(3); one mkfifo(1) makes them all.
      if (names.length) await execFileAsync('mkfifo', ['-m', '0600', '--', ...names]);
      if (paths.stdin) {
        // A write-only open fails (ENXIO) without a reader: hold one until the shim reads.
        fifos.#holds.push(openSync(paths.stdin, constants.O_RDWR | constants.O_NONBLOCK));
        fifos.streams.stdin = fifos.#socket(paths.stdin, constants.O_WRONLY, false);
      }
      for (const name of ['stdout', 'stderr'] as const) {
        if (!paths[name]) continue;
        fifos.streams[name] = fifos.#socket(paths[name], constants.O_RDONLY, true);
        // Our own writer, until the shim's: no end-of-file before it has opened.
        fifos.#holds.push(openSync(paths[name], constants.O_WRONLY | constants.O_NONBLOCK));
      }
    } catch (err) {
      fifos.close();
      throw err;
    }
    return fifos;
  }

  #socket(path: string, mode: number, readable: boolean): Socket {
    const fd = openSync(path, mode | constants.O_NONBLOCK);
    const socket = new Socket({ fd, readable, writable: !readable });
    // EPIPE once the process is gone, and the like: the copying code sees the stream end.
    socket.on('error', () => {});
    this.#sockets.push(socket);
    return socket;
  }

  /** The shim has its ends open: from now on the FIFOs end when it closes them. */
  release(): void {
    for (const fd of this.#holds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // Already closed.
      }
    }
  }

  /** Closes our ends and removes the folder. Idempotent. */
  close(): void {
    this.release();
    for (const socket of this.#sockets.splice(0)) socket.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
