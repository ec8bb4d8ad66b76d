/** What /proc says about a host process: liveness, start time (for PID reuse), state. */
import { readFileSync } from 'node:fs';
import { isErrnoException } from './errors.js';

/** Fields of /proc/PID/stat after the command name, which may itself hold spaces and parens. */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ESRCH')) return undefined;
    throw err;
  }
  const end = text.lastIndexOf(')');
  // Field 3 (state) is the first after the name.
  return text.slice(end + 2).split(' ');
}

/** Field 22 of /proc/PID/stat (clock ticks since boot), or undefined if the process is gone. */
export function readStartTime(pid: number): string | undefined {
  return statFields(pid)?.[22 - 3];
}

/** True while the PID exists and is not a zombie. */
export function isProcessLive(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z' && fields[0] !== 'X';
}

/** The process is alive and is the one that was started (same start time). */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  if (!isProcessLive(pid)) return false;
  return startTime === undefined || readStartTime(pid) === startTime;
}
