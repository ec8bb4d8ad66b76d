/** Ids, states and statuses from containerd v0.2.8's runtime package. */

/** Id of a container's first process. */
export const InitProcessID = 'init';
/** Exit status when it cannot be known (the process vanished unwatched, or its PID was reused). */
export const UnknownStatus = 255;
/** Exit status of a process berth killed because its shim died. */
export const KilledStatus = 128 + 9;

export const State = {
  Paused: 'paused',
  Stopped: 'stopped',
  Running: 'running',
} as const;
export type State = (typeof State)[keyof typeof State];

/** What the OCI runtime itself reports: the three states plus `created` (init not yet started). */
export type RuntimeStatus = State | 'created';
