/** Small file helpers for the state folder: crash-safe writes and tolerant reads. */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { BerthError, CorruptStateError, StateWriteError, isErrnoException } from '../errors.js';

/** A system error met writing `path` as a StateWriteError; anything else as it is. */
export function stateWriteError(path: string, err: unknown): unknown {
  if (!isErrnoException(err) || err instanceof BerthError) return err;
  return new StateWriteError(path, err.code ?? 'EIO', `cannot write ${path}: ${err.message}`, {
    cause: err,
  });
}

/** Writes all of `data` (one write may take only part of it: a disk filling up). */
function writeAll(fd: number, data: string): void {
  const bytes = Buffer.from(data);
  for (let offset = 0; offset < bytes.length;)
    offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/** Writes `data` into the new file `tmp` (synced unless `sync` is false); removed if that fails. */
function writeTemp(tmp: string, data: string, flags: string, sync = true): void {
  const fd = openSync(tmp, flags, 0o600);
  try {
    try {
      writeAll(fd, data);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Nothing to clean.
  }
}

/**
 * Writes `data` so that a crash at any instant leaves either the old or the new
 * content: a temporary file beside the target, fsync, then rename over it. A
 * failure (a full disk: StateWriteError) leaves the old content and no
 * temporary file. `sync: false` skips the fsync where only the process dying
 * is guarded against (the rename alone keeps it atomic then).
 */
export function writeFileAtomic(
  path: string,
  data: string,
  options: { sync?: boolean } = {},
): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeTemp(tmp, data, 'w', options.sync !== false);
    renameSync(tmp, path);
  } catch (err) {
    removeQuietly(tmp);
    throw stateWriteError(path, err);
  }
}

/**
 * Creates `path` holding `data` unless it exists, as crash-safely as
 * writeFileAtomic (a temporary file, fsync, then a hard link to the name):
 * of writers racing for one name exactly one wins, and nobody ever reads it
 * half-written. Returns false when the name existed already.
 */
export function createFileAtomic(path: string, data: string): boolean {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeTemp(tmp, data, 'wx');
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (isErrnoException(err, 'EEXIST')) return false;
    throw stateWriteError(path, err);
  } finally {
    removeQuietly(tmp);
  }
}

/**
 * The same, off the event loop: on a busy disk an fsync takes milliseconds
 * (and even an open waits on the folder's lock while hundreds of containers
 * come and go), and a supervisor starting a hundred containers at once must
 * not stall on each one in turn.
 */
export async function writeFileAtomicAsync(
  path: string,
  data: string,
  options: { sync?: boolean } = {},
): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${++tmpSequence}`;
  try {
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(data);
      if (options.sync !== false) await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    removeQuietly(tmp);
    throw stateWriteError(path, err);
  }
}
let tmpSequence = 0;

/** The file's content, trimmed; undefined when it does not exist. */
export function readTrimmedIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return undefined;
    throw err;
  }
}

export function readIntIfExists(path: string): number | undefined {
  const text = readTrimmedIfExists(path);
  if (text === undefined || text === '') return undefined;
  const value = Number.parseInt(text, 10);
  return Number.isFinite(value) ? value : undefined;
}

/** A JSON file berth wrote; a torn or foreign one is a CorruptStateError. */
export function readJson<T>(path: string): T {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptStateError(path, `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
