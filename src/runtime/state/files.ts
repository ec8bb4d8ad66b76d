/** Small file helpers for the state folder: crash-safe writes and tolerant reads. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { CorruptStateError, isErrnoException } from '../errors.js';

/**
 * Writes `data` so that a crash at any instant leaves either the old or the new
 * content: a temporary file beside the target, fsync, then rename over it.
 * `sync: false` skips the fsync where only the process dying is guarded
 * against (the rename alone keeps it atomic then).
 */
export function writeFileAtomic(
  path: string,
  data: string,
  options: { sync?: boolean } = {},
): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    if (options.sync !== false) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * The same, off the event loop: on a busy disk an fsync takes milliseconds,
 * and a supervisor starting a hundred containers at once must not stall on
 * each one in turn.
 */
export async function writeFileAtomicAsync(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${++tmpSequence}`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
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
