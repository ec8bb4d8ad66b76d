/**
 * The FIFOs an exec's stdio goes through (src/supervisor/stdio-fifos.ts),
 * one folder per exec under the CRI's own root.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { validateId } from '../runtime/index.js';
import { StdioFifos, type StdioWanted } from '../supervisor/stdio-fifos.js';

/** Makes `<root>/<execId>/` and the FIFOs wanted, and opens our ends; nothing is left if it fails. */
export async function openExecFifos(
  root: string,
  execId: string,
  wanted: StdioWanted,
): Promise<StdioFifos> {
  const dir = join(root, validateId('exec id', execId));
  await mkdir(root, { recursive: true, mode: 0o700 });
  await mkdir(dir, { mode: 0o700 });
  return StdioFifos.open(dir, wanted);
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
