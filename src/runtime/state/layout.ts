/**
 * The on-disk layout, shared with containerd v0.2.8 and with the shim
 * (shim/src/protocol.h holds the same names; a unit test keeps them equal).
 *
 *   <root>/<container-id>/state.json
 *   <root>/<container-id>/<process-id>/{process.json,exit,control,exitStatus,pid,starttime,log.json,shim-log.json,runtimeDeleted}
 *   <root>/.runtime/<runtime>/   the OCI runtime's own state (its --root), unless runtimeArgs name one
 */
import { basename, join } from 'node:path';

/** FIFO the shim holds open for writing while it lives; it also carries event lines. */
export const ExitFile = 'exit';
/** Decimal exit status, written by the shim when the process exits. */
export const ExitStatusFile = 'exitStatus';
/** The container record. */
export const StateFile = 'state.json';
/** FIFO of control lines `TYPE WIDTH HEIGHT`. */
export const ControlFile = 'control';
/** Field 22 of /proc/PID/stat, to detect PID reuse. */
export const StartTimeFile = 'starttime';
export const ProcessFile = 'process.json';
export const PidFile = 'pid';
export const RuntimeLogFile = 'log.json';
export const ShimLogFile = 'shim-log.json';
/** With a terminal, while the shim waits for the pty master. */
export const ConsoleSocketFile = 'console.sock';
/**
 * Init only: written by the shim once the runtime's container is deleted after
 * the exit, for a reader that missed the `deleted` line (the shim was gone
 * before it watched: nothing of the FIFO outlives its last holder).
 */
export const RuntimeDeletedFile = 'runtimeDeleted';
/** Restore: CRIU's work folder. */
export const CriuWorkDir = 'criu.work';
/** A checkpoint's own record, inside `<checkpointDir>/<name>/`. */
export const CheckpointConfigFile = 'config.json';
/**
 * Under the state root, the OCI runtimes' state folders. A dot name: no
 * container id can take it (ids start with a letter or digit).
 */
export const RuntimeStateDir = '.runtime';

export function containerDir(root: string, id: string): string {
  return join(root, id);
}

/** Every file of one process folder, by name. */
export interface ProcessFiles {
  dir: string;
  exit: string;
  control: string;
  exitStatus: string;
  pid: string;
  startTime: string;
  process: string;
  runtimeLog: string;
  shimLog: string;
  runtimeDeleted: string;
}

export function processFiles(dir: string): ProcessFiles {
  return {
    dir,
    exit: join(dir, ExitFile),
    control: join(dir, ControlFile),
    exitStatus: join(dir, ExitStatusFile),
    pid: join(dir, PidFile),
    startTime: join(dir, StartTimeFile),
    process: join(dir, ProcessFile),
    runtimeLog: join(dir, RuntimeLogFile),
    shimLog: join(dir, ShimLogFile),
    runtimeDeleted: join(dir, RuntimeDeletedFile),
  };
}

/**
 * The runtime state folder berth gives an OCI runtime for one state root:
 * two roots never share one, so a container id may exist in both.
 */
export function runtimeStateDir(root: string, runtime: string): string {
  return join(root, RuntimeStateDir, basename(runtime));
}
