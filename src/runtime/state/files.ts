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
import { CorruptStateError, isErrnoException } from '../errors.js';

/**
 * Writes `data` so that a crash at any instant leaves either the old or the new
 * content: a temporary file beside the target, fsync, then rename over it.
 */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * Creates `path` holding `data` unless it exists, as crash-safely as
 * writeFileAtomic (a temporary file, fsync, then a hard link to the name):
 * of writers racing for one name exactly one wins, and nobody ever reads it
 * half-written. Returns false when the name existed already.
 */
export function createFileAtomic(path: string, data: string): boolean {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (isErrnoException(err, 'EEXIST')) return false;
    throw err;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Nothing to clean.
    }
  }
}

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
