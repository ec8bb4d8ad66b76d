/**
 * The records of the state folder: state.json (the container) and
 * process.json (one per process), plus the small files the shim and the
 * runtime write. Reading a record that is there but unreadable is a
 * CorruptStateError, never an untyped SyntaxError.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerNotFoundError, CorruptStateError, isErrnoException } from '../errors.js';
import { parseExactJson, stringifyExactJson } from '../oci/exact-json.js';
import type { ProcessSpec } from '../oci/spec.js';
import { parseOwnedRootfs, type OwnedRootfs } from '../rootfs.js';
import { StateFile, type ProcessFiles } from './layout.js';
import {
  createFileAtomic,
  readIntIfExists,
  readTrimmedIfExists,
  writeFileAtomicAsync,
} from './files.js';

/** state.json, as containerd v0.2.8 writes it. */
export interface ContainerRecord {
  bundle: string;
  labels: string[];
  stdin: string;
  stdout: string;
  stderr: string;
  runtime: string;
  runtimeArgs: string[];
  shim: string;
  noPivotRoot: boolean;
  /** berth's own: the mounts of a rootfs the container owns (its bundle's berth-rootfs.json). */
  rootfs?: OwnedRootfs;
}

/** process.json: the spec plus containerd's fields (the seed's ProcessState, docs/SEED.md). */
export interface ProcessState extends ProcessSpec {
  exec: boolean;
  containerdStdin: string;
  containerdStdout: string;
  containerdStderr: string;
  runtimeArgs: string[];
  noPivotRoot: boolean;
  checkpoint: string;
  rootUID: number;
  rootGID: number;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Parses a JSON record; a torn or foreign file becomes a CorruptStateError naming it. */
function parseRecord(path: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseExactJson(text);
  } catch (err) {
    throw new CorruptStateError(path, `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptStateError(path, `${path} does not hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

export async function writeContainerRecord(dir: string, record: ContainerRecord): Promise<void> {
  await writeFileAtomicAsync(join(dir, StateFile), JSON.stringify(record));
}

/** The container record of `dir`; ContainerNotFoundError when there is none. */
export function readContainerRecord(dir: string, id: string): ContainerRecord {
  const path = join(dir, StateFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ENOTDIR'))
      throw new ContainerNotFoundError(`container ${id} not found in ${dir}`, { cause: err });
    throw err;
  }
  const record = parseRecord(path, text);
  const { bundle, runtime, shim, labels, runtimeArgs } = record;
  if (typeof bundle !== 'string' || typeof runtime !== 'string' || typeof shim !== 'string')
    throw new CorruptStateError(path, `${path}: bundle, runtime and shim must be strings`);
  if (!isStringArray(labels ?? []) || !isStringArray(runtimeArgs ?? []))
    throw new CorruptStateError(path, `${path}: labels and runtimeArgs must be lists of strings`);
  const asString = (field: unknown) => (typeof field === 'string' ? field : '');
  const rootfs = parseOwnedRootfs(path, record.rootfs);
  return {
    bundle,
    labels: (labels as string[] | undefined) ?? [],
    stdin: asString(record.stdin),
    stdout: asString(record.stdout),
    stderr: asString(record.stderr),
    runtime,
    runtimeArgs: (runtimeArgs as string[] | undefined) ?? [],
    shim,
    noPivotRoot: record.noPivotRoot === true,
    ...(rootfs ? { rootfs } : {}),
  };
}

export async function writeProcessState(files: ProcessFiles, state: ProcessState): Promise<void> {
  await writeFileAtomicAsync(files.process, stringifyExactJson(state));
}

/** process.json of a process folder; undefined when the folder has none (a start cut short). */
export function readProcessState(files: ProcessFiles): ProcessState | undefined {
  let text: string;
  try {
    text = readFileSync(files.process, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return undefined;
    throw err;
  }
  const record = parseRecord(files.process, text);
  if (!isStringArray(record.args) || typeof record.exec !== 'boolean') {
    throw new CorruptStateError(files.process, `${files.process}: not a process record`);
  }
  return {
    containerdStdin: '',
    containerdStdout: '',
    containerdStderr: '',
    runtimeArgs: [],
    noPivotRoot: false,
    checkpoint: '',
    rootUID: 0,
    rootGID: 0,
    ...record,
  } as unknown as ProcessState;
}

export function readExitStatus(files: ProcessFiles): number | undefined {
  return readIntIfExists(files.exitStatus);
}

/**
 * Written by berth itself only when the shim died without writing it:
 * records `status` unless a status is there already (another supervisor saw
 * the same shim die), and returns the status that stands.
 */
export function claimExitStatus(files: ProcessFiles, status: number): number {
  if (createFileAtomic(files.exitStatus, String(status))) return status;
  return readExitStatus(files) ?? status;
}

export function readPid(files: ProcessFiles): number | undefined {
  const pid = readIntIfExists(files.pid);
  return pid !== undefined && pid > 0 ? pid : undefined;
}

export function readStartTime(files: ProcessFiles): string | undefined {
  return readTrimmedIfExists(files.startTime);
}

/** A new process record: the spec plus the container's runtime settings, stdio filled in at launch. */
export function newProcessState(
  spec: ProcessSpec,
  container: { runtimeArgs: readonly string[]; noPivotRoot: boolean },
  how: { exec: boolean; checkpoint: string },
): ProcessState {
  return {
    ...spec,
    exec: how.exec,
    containerdStdin: '',
    containerdStdout: '',
    containerdStderr: '',
    runtimeArgs: [...container.runtimeArgs],
    noPivotRoot: container.noPivotRoot,
    checkpoint: how.checkpoint,
    rootUID: 0,
    rootGID: 0,
  };
}
