/**
 * The FIFOs an exec's stdio goes through: the supervisor takes stdio as
 * paths, so the CRI makes them in a folder of its own, one per exec, and
 * reads and writes them as non-blocking sockets.
 *
 * Until the shim has opened its ends, we hold a writer on each output FIFO
 * (so reading never sees a premature end-of-file) and a reader on the input
 * FIFO (so our writer can open); release() lets go of them once the process
 * runs, from when each FIFO ends as the shim closes it.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateId } from '../runtime/index.js';

const execFileAsync = promisify(execFile);

export interface ExecStdioWanted {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** The paths the supervisor is given: '' for a stream not wanted (/dev/null). */
export interface ExecStdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

export class ExecFifos {
  readonly dir: string;
  readonly paths: ExecStdioPaths;
  /** Our ends: we write the process's input, read its outputs. */
  stdin: Socket | null = null;
  stdout: Socket | null = null;
  stderr: Socket | null = null;
  readonly #holds: number[] = [];
  readonly #sockets: Socket[] = [];

  private constructor(dir: string, paths: ExecStdioPaths) {
    this.dir = dir;
    this.paths = paths;
  }

  /** Makes `<root>/<execId>/` and the FIFOs wanted, and opens our ends; nothing is left if it fails. */
  static async open(root: string, execId: string, wanted: ExecStdioWanted): Promise<ExecFifos> {
    const dir = join(root, validateId('exec id', execId));
    const paths: ExecStdioPaths = {
      stdin: wanted.stdin ? join(dir, 'stdin') : '',
      stdout: wanted.stdout ? join(dir, 'stdout') : '',
      stderr: wanted.stderr ? join(dir, 'stderr') : '',
    };
    const fifos = new ExecFifos(dir, paths);
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
      await mkdir(dir, { mode: 0o700 });
      const names = [paths.stdin, paths.stdout, paths.stderr].filter(Boolean);
      // Node has no mkfifo(3); one mkfifo(1) makes them all.
      if (names.length) await execFileAsync('mkfifo', ['-m', '0600', '--', ...names]);
      if (paths.stdin) {
        // A write-only open fails (ENXIO) without a reader: hold one until the shim reads.
        fifos.#holds.push(openSync(paths.stdin, constants.O_RDWR | constants.O_NONBLOCK));
        fifos.stdin = fifos.#socket(paths.stdin, constants.O_WRONLY, false);
      }
      for (const name of ['stdout', 'stderr'] as const) {
        if (!paths[name]) continue;
        fifos[name] = fifos.#socket(paths[name], constants.O_RDONLY, true);
        fifos.#holds.push(openSync(paths[name], constants.O_WRONLY | constants.O_NONBLOCK));
      }
    } catch (err) {
      await fifos.close();
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
  async close(): Promise<void> {
    this.release();
    for (const socket of this.#sockets.splice(0)) socket.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Removes FIFO folders left by a berthd killed while execs ran (their
 * processes went with their shims' streams): called once at start.
 */
export async function removeStaleExecFifos(root: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  await Promise.all(names.map((name) => rm(join(root, name), { recursive: true, force: true })));
}
