/**
 * A process's stdio: paths (files or FIFOs that the caller owns, as in
 * containerd), or `'pipe'`, for which the library makes FIFOs in the process
 * folder and hands the caller Node streams.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { InvalidArgumentError } from './errors.js';

/** The seed's Stdio (docs/SEED.md): three paths. */
export interface Stdio {
  stdin: string;
  stdout: string;
  stderr: string;
}

/** Where one stream goes: an absolute path, '' or undefined for /dev/null, or 'pipe' for a Node stream. */
export type StdioTarget = string | 'pipe' | undefined;

export interface StdioOptions {
  stdin?: StdioTarget;
  stdout?: StdioTarget;
  stderr?: StdioTarget;
}

export const DEV_NULL = '/dev/null';

/** The seed's NewStdio: an empty path becomes /dev/null. */
export function newStdio(stdin = '', stdout = '', stderr = ''): Stdio {
  return { stdin: stdin || DEV_NULL, stdout: stdout || DEV_NULL, stderr: stderr || DEV_NULL };
}

export interface PreparedStdio {
  paths: Stdio;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /**
   * Lets go of what kept the stdin FIFO open for reading until the shim had
   * opened it: from then on the shim is its only reader, so once the process
   * exits (or closes its stdin) a write fails with EPIPE instead of blocking.
   */
  shimAttached(): void;
  /** Destroys the streams (the FIFOs go with the process folder). */
  destroy(): void;
}

const execFileAsync = promisify(execFile);
const NAMES = ['stdin', 'stdout', 'stderr'] as const;

function checkTarget(name: string, target: StdioTarget): void {
  if (target === undefined || target === '' || target === 'pipe') return;
  if (typeof target !== 'string' || !isAbsolute(target) || target.includes('\0')) {
    throw new InvalidArgumentError(
      `${name} must be an absolute path, '' or 'pipe', got ${JSON.stringify(target)}`,
    );
  }
}

export function validateStdio(options: StdioOptions): void {
  for (const name of NAMES) checkTarget(name, options[name]);
}

/**
 * Makes the FIFOs for 'pipe' targets in `dir` and opens the library's ends
 * before the shim starts, so the shim never waits for a reader.
 */
export async function prepareStdio(dir: string, options: StdioOptions): Promise<PreparedStdio> {
  validateStdio(options);
  const piped = NAMES.filter((name) => options[name] === 'pipe');
  const paths = newStdio(
    ...(NAMES.map((name) =>
      options[name] === 'pipe' ? join(dir, name) : (options[name] ?? ''),
    ) as [string, string, string]),
  );
  const result: PreparedStdio = {
    paths,
    stdin: null,
    stdout: null,
    stderr: null,
    shimAttached: () => {},
    destroy: () => {},
  };
  if (piped.length === 0) return result;

  // Node has no mkfifo(3); one mkfifo(1) call makes all of them.
  await execFileAsync('mkfifo', ['-m', '0600', ...piped.map((name) => join(dir, name))]);
  const sockets: Socket[] = [];
  let readerHold: number | undefined;
  try {
    if (options.stdin === 'pipe') {
      // A write-only open of a FIFO fails (ENXIO) until it has a reader: hold
      // a read-write descriptor until the shim is there.
      readerHold = openSync(paths.stdin, constants.O_RDWR | constants.O_NONBLOCK);
      const fd = openSync(paths.stdin, constants.O_WRONLY | constants.O_NONBLOCK);
      const socket = new Socket({ fd, readable: false, writable: true });
      sockets.push(socket);
      result.stdin = socket;
    }
    for (const name of ['stdout', 'stderr'] as const) {
      if (options[name] !== 'pipe') continue;
      const fd = openSync(paths[name], constants.O_RDONLY | constants.O_NONBLOCK);
      const socket = new Socket({ fd, readable: true, writable: false });
      sockets.push(socket);
      result[name] = socket;
    }
  } catch (err) {
    for (const socket of sockets) socket.destroy();
    if (readerHold !== undefined) closeQuietly(readerHold);
    throw err;
  }
  const releaseHold = () => {
    if (readerHold !== undefined) closeQuietly(readerHold);
    readerHold = undefined;
  };
  result.shimAttached = releaseHold;
  result.destroy = () => {
    releaseHold();
    for (const socket of sockets) socket.destroy();
  };
  return result;
}

/** Closes a descriptor, ignoring EBADF (already closed by a stream). */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing to do.
  }
}
