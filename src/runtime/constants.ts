/** File names, ids and states shared with containerd v0.2.8's on-disk layout. */

/** FIFO the shim holds open for writing while it lives; it also carries event lines. */
export const ExitFile = 'exit';
/** Decimal exit status, written by the shim when the process exits. */
export const ExitStatusFile = 'exitStatus';
/** The container record. */
export const StateFile = 'state.json';
/** FIFO of control lines `TYPE WIDTH HEIGHT`. */
export const ControlFile = 'control';
/** Id of a container's first process. */
export const InitProcessID = 'init';
/** Field 22 of /proc/PID/stat, to detect PID reuse. */
export const StartTimeFile = 'starttime';
/** Exit status when it cannot be known. */
export const UnknownStatus = 255;

export const ProcessFile = 'process.json';
export const PidFile = 'pid';
export const RuntimeLogFile = 'log.json';
export const ShimLogFile = 'shim-log.json';
/** A checkpoint's own record, inside `<checkpointDir>/<name>/`. */
export const CheckpointConfigFile = 'config.json';

export const State = {
  Paused: 'paused',
  Stopped: 'stopped',
  Running: 'running',
} as const;
export type State = (typeof State)[keyof typeof State];

/** What the OCI runtime itself reports: the three states plus `created` (init not yet started). */
export type RuntimeStatus = State | 'created';

/** Control message types understood by the shim. */
export const ControlMessage = { CloseStdin: 0, Resize: 1 } as const;
