/**
 * Pending exits: the exits of a container whose init has exited, decided
 * (every process's status) but maybe not yet journaled. One file per
 * container, written before the container is deleted and removed once its
 * exits are journaled, so that a supervisor killed in between still reports
 * each of them once after its restart.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isErrnoException, writeFileAtomicAsync } from '../runtime/index.js';

/** One process's exit, as the journal will hold it. */
export interface ExitRecord {
  pid: string;
  status: number;
  systemPid: number;
  /** ns since the epoch, as a decimal string. */
  at: string;
}

/** The folder under the state dir; a dot name is never a container id. */
export const PENDING_EXITS_DIR = '.pending';
/**
 * A pending record is `<id>.json`: the temporary file of a write cut short
 * (`<id>.json.tmp-…`) never passes for a record of its own, whatever the id.
 */
const RecordSuffix = '.json';

function recordPath(stateDir: string, id: string): string {
  return join(stateDir, PENDING_EXITS_DIR, `${id}${RecordSuffix}`);
}

/** Records container `id`'s exits before they are journaled. */
export async function writePendingExits(
  stateDir: string,
  id: string,
  exits: ExitRecord[],
): Promise<void> {
  mkdirSync(join(stateDir, PENDING_EXITS_DIR), { recursive: true, mode: 0o700 });
  // Guards against the supervisor dying mid-way, not the machine: no fsync.
  await writeFileAtomicAsync(recordPath(stateDir, id), JSON.stringify(exits), { sync: false });
}

/** Container `id`'s exits are journaled: its record goes. */
export function removePendingExits(stateDir: string, id: string): void {
  rmSync(recordPath(stateDir, id), { force: true });
}

/**
 * After a restart: every record is handed to `journal` (which skips the
 * exits the journal already has), then removed with anything else in the
 * folder. A record that cannot be read goes to `unreadable`.
 */
export function replayPendingExits(
  stateDir: string,
  journal: (id: string, exits: ExitRecord[]) => void,
  unreadable: (id: string, err: Error) => void,
): void {
  const dir = join(stateDir, PENDING_EXITS_DIR);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if (!isErrnoException(err, 'ENOENT')) throw err;
  }
  for (const name of names) {
    // Anything else is the temporary file of a write the crash cut short: never a record.
    if (name.endsWith(RecordSuffix)) {
      const id = name.slice(0, -RecordSuffix.length);
      try {
        const exits = JSON.parse(readFileSync(join(dir, name), 'utf8')) as ExitRecord[];
        journal(id, exits);
      } catch (err) {
        unreadable(id, err as Error);
      }
    }
    rmSync(join(dir, name), { force: true });
  }
}
