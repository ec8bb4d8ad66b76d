/** Picking a container's processes back up from their folders. */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InitProcessID } from './constants.js';
import { ContainerNotFoundError, InvalidIdError, isErrnoException } from './errors.js';
import { ContainerProcess, type ProcessOwner } from './process.js';
import { StateFile, processFiles } from './state/layout.js';
import { readPid, readProcessState, readStartTime } from './state/records.js';

/**
 * Every process recorded under the container folder `dir`, init first (so the
 * container's own state is settled before its execs'), each already watched:
 * exits that happened meanwhile are collected, dead shims dealt with. A torn
 * process.json throws CorruptStateError; a folder without one (a start cut
 * short) is skipped.
 */
export async function loadProcesses<Owner extends ProcessOwner>(
  owner: Owner,
  dir: string,
): Promise<ContainerProcess<Owner>[]> {
  const ids = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => (a === InitProcessID ? -1 : b === InitProcessID ? 1 : a.localeCompare(b)));
  const loaded: ContainerProcess<Owner>[] = [];
  for (const processId of ids) {
    const files = processFiles(join(dir, processId));
    const state = readProcessState(files);
    if (state === undefined) continue;
    const process = new ContainerProcess<Owner>({
      owner,
      id: processId,
      files,
      state,
      pid: readPid(files) ?? 0,
      startTime: readStartTime(files),
      // Whether a loaded init was started is known only to the runtime.
      started: state.exec || state.checkpoint !== '' ? true : undefined,
    });
    await process.watch();
    loaded.push(process);
  }
  return loaded;
}

/**
 * Every container folder under `root`, loaded with `load`. What is not a
 * container folder (a file such as events.log, the runtime's state folder, a
 * folder without state.json) is skipped; a broken container is reported in
 * `errors` and does not keep the others from loading.
 */
export async function loadEach<C>(
  root: string,
  load: (id: string) => Promise<C>,
): Promise<{ containers: C[]; errors: Array<{ id: string; error: Error }> }> {
  const result: { containers: C[]; errors: Array<{ id: string; error: Error }> } = {
    containers: [],
    errors: [],
  };
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return result;
    throw err;
  }
  const ids = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  for (const id of ids.sort()) {
    try {
      result.containers.push(await load(id));
    } catch (err) {
      if (err instanceof ContainerNotFoundError || err instanceof InvalidIdError) continue;
      result.errors.push({ id, error: err as Error });
    }
  }
  return result;
}

/**
 * Removes the container folders under `root` that a create left before it
 * recorded its container (it was killed between making the folder and
 * renaming state.json into it): no state.json, nothing but the record's
 * temporary file. Returns their ids. Only for whoever alone owns `root`, at
 * start-up: a create in flight looks the same.
 */
export function removeUnrecordedContainers(root: string): string[] {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return [];
    throw err;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = join(root, entry.name);
    const inside = readdirSync(dir, { withFileTypes: true });
    const unrecorded = inside.every(
      (file) => file.isFile() && file.name.startsWith(`${StateFile}.tmp-`),
    );
    if (!unrecorded) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
