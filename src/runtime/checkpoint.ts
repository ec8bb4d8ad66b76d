/**
 * Checkpoints on disk (`<checkpointDir>/<name>/config.json` beside CRIU's
 * images) and their translation into the OCI runtime's flags.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { checkpointCommand } from './oci/commands.js';
import { CheckpointConfigFile } from './state/layout.js';
import {
  CheckpointExistsError,
  CheckpointNotFoundError,
  InvalidArgumentError,
  isErrnoException,
} from './errors.js';
import { readJson, writeFileAtomic } from './state/files.js';
import { validateId } from './validate.js';

/** The seed's Checkpoint (docs/SEED.md). */
export interface Checkpoint {
  name: string;
  /** When it was taken; set by `checkpoint()`. */
  created?: Date;
  /** Checkpoint open TCP connections. */
  tcp?: boolean;
  /** Keep external unix sockets. */
  unixSockets?: boolean;
  /** Keep tty sessions (shell jobs). */
  shell?: boolean;
  /** Stop the container once checkpointed (otherwise it keeps running). */
  exit?: boolean;
  /** Namespaces CRIU should create empty rather than restore. */
  emptyNS?: string[];
}

interface CheckpointRecord {
  name: string;
  created: string;
  tcp: boolean;
  unixSockets: boolean;
  shell: boolean;
  exit: boolean;
  emptyNS?: string[];
}

export function checkCheckpointDir(dir: string): string {
  if (typeof dir !== 'string' || !isAbsolute(dir)) {
    throw new InvalidArgumentError(
      `checkpointDir must be an absolute path, got ${JSON.stringify(dir)}`,
    );
  }
  return dir;
}

function checkEmptyNS(emptyNS: unknown): string[] {
  if (emptyNS === undefined) return [];
  if (
    !Array.isArray(emptyNS) ||
    !emptyNS.every((ns) => typeof ns === 'string' && /^[a-z]+$/.test(ns))
  ) {
    throw new InvalidArgumentError('emptyNS must be a list of namespace names such as "network"');
  }
  return emptyNS;
}

/** Flags shared by `checkpoint` and `restore`. */
function sharedFlags(checkpoint: Checkpoint): string[] {
  const flags: string[] = [];
  if (checkpoint.shell) flags.push('--shell-job');
  if (checkpoint.tcp) flags.push('--tcp-established');
  if (checkpoint.unixSockets) flags.push('--ext-unix-sk');
  for (const ns of checkEmptyNS(checkpoint.emptyNS)) flags.push('--empty-ns', ns);
  return flags;
}

/**
 * Makes the checkpoint's folder and record, refusing an existing name.
 * Returns the runtime arguments that write CRIU's images into it.
 */
export function prepareCheckpoint(
  checkpoint: Checkpoint,
  checkpointDir: string,
  containerId: string,
) {
  validateId('checkpoint name', checkpoint?.name);
  checkCheckpointDir(checkpointDir);
  const flags = sharedFlags(checkpoint);
  const path = join(checkpointDir, checkpoint.name);
  mkdirSync(checkpointDir, { recursive: true, mode: 0o755 });
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if (isErrnoException(err, 'EEXIST')) {
      throw new CheckpointExistsError(
        `checkpoint ${checkpoint.name} already exists in ${checkpointDir}`,
      );
    }
    throw err;
  }
  const record: CheckpointRecord = {
    name: checkpoint.name,
    created: new Date().toISOString(),
    tcp: checkpoint.tcp ?? false,
    unixSockets: checkpoint.unixSockets ?? false,
    shell: checkpoint.shell ?? false,
    exit: checkpoint.exit ?? false,
    ...(checkpoint.emptyNS?.length ? { emptyNS: [...checkpoint.emptyNS] } : {}),
  };
  writeFileAtomic(join(path, CheckpointConfigFile), JSON.stringify(record));
  const args = checkpointCommand(containerId, {
    imagePath: path,
    workPath: join(path, 'criu.work'),
    leaveRunning: !record.exit,
    criuFlags: flags,
  });
  return { path, args, discard: () => rmSync(path, { recursive: true, force: true }) };
}

function fromRecord(record: CheckpointRecord): Checkpoint {
  return {
    name: record.name,
    created: new Date(record.created),
    tcp: record.tcp,
    unixSockets: record.unixSockets,
    shell: record.shell,
    exit: record.exit,
    ...(record.emptyNS ? { emptyNS: record.emptyNS } : {}),
  };
}

/** One checkpoint's record; CheckpointNotFoundError if there is none. */
export function readCheckpoint(name: string, checkpointDir: string): Checkpoint {
  validateId('checkpoint name', name);
  checkCheckpointDir(checkpointDir);
  try {
    return fromRecord(readJson<CheckpointRecord>(join(checkpointDir, name, CheckpointConfigFile)));
  } catch (err) {
    if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ENOTDIR')) {
      throw new CheckpointNotFoundError(`no checkpoint ${name} in ${checkpointDir}`);
    }
    throw err;
  }
}

/** Every checkpoint in the folder, oldest first. */
export function listCheckpoints(checkpointDir: string): Checkpoint[] {
  checkCheckpointDir(checkpointDir);
  let names: string[];
  try {
    names = readdirSync(checkpointDir);
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return [];
    throw err;
  }
  const found: Checkpoint[] = [];
  for (const name of names) {
    try {
      found.push(readCheckpoint(name, checkpointDir));
    } catch (err) {
      // Folders that are not checkpoints of ours are not listed.
      if (
        err instanceof CheckpointNotFoundError ||
        (err as { code?: string }).code === 'ERR_INVALID_ID'
      )
        continue;
      throw err;
    }
  }
  return found.sort(
    (a, b) => a.created!.getTime() - b.created!.getTime() || a.name.localeCompare(b.name),
  );
}

export function deleteCheckpoint(name: string, checkpointDir: string): void {
  validateId('checkpoint name', name);
  checkCheckpointDir(checkpointDir);
  const path = join(checkpointDir, name);
  try {
    statSync(path);
  } catch (err) {
    if (isErrnoException(err, 'ENOENT'))
      throw new CheckpointNotFoundError(`no checkpoint ${name} in ${checkpointDir}`);
    throw err;
  }
  rmSync(path, { recursive: true, force: true });
}

/** The runtime's `restore` flags for a checkpoint (besides paths and ids, which the shim adds). */
export function restoreFlags(checkpoint: Checkpoint): string[] {
  return sharedFlags(checkpoint);
}
