/**
 * Every line berth and the shim exchange, parsed and formatted in one place
 * (shim/PROTOCOL.md is the contract; shim/src/protocol.h the C side's names).
 *
 * - readiness, on an inherited pipe: `ok PID` | `error MESSAGE`
 * - events, on the `exit` FIFO: `oom` | `lost STREAM` | `exit STATUS` | `deleted`
 * - control, on the `control` FIFO: `TYPE WIDTH HEIGHT`
 */

export const ReadyOk = 'ok';
export const ReadyError = 'error';

export const ShimEventName = {
  Exit: 'exit',
  Oom: 'oom',
  Lost: 'lost',
  Deleted: 'deleted',
} as const;

/** Control message types understood by the shim. */
export const ControlMessage = { CloseStdin: 0, Resize: 1, DiscardOutput: 2 } as const;
export type ControlMessage = (typeof ControlMessage)[keyof typeof ControlMessage];

export type ReadyReport = { ok: true; pid: number } | { ok: false; message: string };

/** The readiness line (without its newline); undefined when it is neither form. */
export function parseReadyLine(line: string): ReadyReport | undefined {
  const space = line.indexOf(' ');
  const word = space < 0 ? line : line.slice(0, space);
  const rest = space < 0 ? '' : line.slice(space + 1);
  if (word === ReadyOk && /^[1-9]\d{0,9}$/.test(rest)) return { ok: true, pid: Number(rest) };
  if (word === ReadyError) return { ok: false, message: rest };
  return undefined;
}

export type OutputStream = 'stdout' | 'stderr';

export type ShimEvent =
  | { type: 'exit'; status: number }
  | { type: 'oom' }
  /** Output the shim discarded after the process exited because its reader stopped reading. */
  | { type: 'lost'; stream: OutputStream }
  /** After `exit`, from an init's shim: the runtime's `delete` succeeded (state and cgroups gone). */
  | { type: 'deleted' }
  | { type: 'unknown'; line: string };

/** One event line of the `exit` FIFO (without its newline). */
export function parseEventLine(line: string): ShimEvent {
  if (line === ShimEventName.Oom) return { type: 'oom' };
  if (line === ShimEventName.Deleted) return { type: 'deleted' };
  const exit = /^exit (\d{1,3})$/.exec(line);
  if (exit) return { type: 'exit', status: Number(exit[1]) };
  const lost = /^lost (stdout|stderr)$/.exec(line);
  if (lost) return { type: 'lost', stream: lost[1] as OutputStream };
  return { type: 'unknown', line };
}

export function formatControlLine(type: ControlMessage, width = 0, height = 0): string {
  return `${type} ${width} ${height}\n`;
}
