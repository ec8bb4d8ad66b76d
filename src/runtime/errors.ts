/**
 * Typed errors. Each has a stable `code` that callers (and the gRPC layer) can
 * switch on; the five errors of the seed (docs/SEED.md) keep containerd v0.2.8's messages.
 */

export abstract class BerthError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

// The seed's errors.

export class ContainerExitedError extends BerthError {
  readonly code = 'ERR_CONTAINER_EXITED';
  constructor(message = 'containerd: container has exited', options?: ErrorOptions) {
    super(message, options);
  }
}

export class ProcessNotExitedError extends BerthError {
  readonly code = 'ERR_PROCESS_NOT_EXITED';
  constructor(message = 'containerd: process has not exited') {
    super(message);
  }
}

export class ContainerNotStartedError extends BerthError {
  readonly code = 'ERR_CONTAINER_NOT_STARTED';
  constructor(message = 'containerd: container not started', options?: ErrorOptions) {
    super(message, options);
  }
}

export class ContainerStartTimeoutError extends BerthError {
  readonly code = 'ERR_CONTAINER_START_TIMEOUT';
  constructor(
    message = 'containerd: container did not start before the specified timeout',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class ShimExitedError extends BerthError {
  readonly code = 'ERR_SHIM_EXITED';
  constructor(
    message = 'containerd: shim exited before container process was started',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// berth's own.

/** An id or name that cannot be used as a path component. */
export class InvalidIdError extends BerthError {
  readonly code = 'ERR_INVALID_ID';
}

export class InvalidArgumentError extends BerthError {
  readonly code = 'ERR_INVALID_ARGUMENT';
}

export class ContainerExistsError extends BerthError {
  readonly code = 'ERR_CONTAINER_EXISTS';
}

export class ContainerNotFoundError extends BerthError {
  readonly code = 'ERR_CONTAINER_NOT_FOUND';
}

export class ContainerRunningError extends BerthError {
  readonly code = 'ERR_CONTAINER_RUNNING';
}

export class ProcessExistsError extends BerthError {
  readonly code = 'ERR_PROCESS_EXISTS';
}

export class ProcessNotFoundError extends BerthError {
  readonly code = 'ERR_PROCESS_NOT_FOUND';
}

/** A signal, stdin or resize aimed at a process that has exited. */
export class ProcessExitedError extends BerthError {
  readonly code = 'ERR_PROCESS_EXITED';
}

/** The process handle was closed while something still waited on it. */
export class ProcessClosedError extends BerthError {
  readonly code = 'ERR_PROCESS_CLOSED';
}

export class BundleNotFoundError extends BerthError {
  readonly code = 'ERR_BUNDLE_NOT_FOUND';
}

export class InvalidBundleConfigError extends BerthError {
  readonly code = 'ERR_INVALID_BUNDLE_CONFIG';
}

/** The OCI runtime or the shim binary cannot be found or executed. */
export class BinaryNotFoundError extends BerthError {
  readonly code = 'ERR_BINARY_NOT_FOUND';
}

/** The OCI runtime refused: `message` is the runtime's own words. */
export class RuntimeError extends BerthError {
  readonly code = 'ERR_RUNTIME';
  constructor(
    message: string,
    readonly command: readonly string[],
    readonly exitCode: number | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The OCI runtime did not answer in time; it was killed. */
export class RuntimeTimeoutError extends BerthError {
  readonly code = 'ERR_RUNTIME_TIMEOUT';
  constructor(
    message: string,
    readonly command: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The shim could not start the process for a reason of its own (stdio it cannot open, a runtime that failed silently). */
export class ShimError extends BerthError {
  readonly code = 'ERR_SHIM';
}

/** A record on disk (state.json, process.json, a checkpoint's config) that cannot be read back. */
export class CorruptStateError extends BerthError {
  readonly code = 'ERR_CORRUPT_STATE';
  constructor(
    /** The file at fault. */
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The state folder could not be written: a full disk (`errno` ENOSPC), a
 * quota (EDQUOT), a read-only one (EROFS)... Nothing half-written is left.
 */
export class StateWriteError extends BerthError {
  readonly code = 'ERR_STATE_WRITE';
  constructor(
    /** What was being written. */
    readonly path: string,
    /** The system's error code. */
    readonly errno: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A mount or unmount of a container's own rootfs (berth-rootfs.json) failed. */
export class RootfsMountError extends BerthError {
  readonly code = 'ERR_ROOTFS_MOUNT';
}

/** resize() on a process without a terminal. */
export class NoTerminalError extends BerthError {
  readonly code = 'ERR_NO_TERMINAL';
}

export class CheckpointExistsError extends BerthError {
  readonly code = 'ERR_CHECKPOINT_EXISTS';
}

export class CheckpointNotFoundError extends BerthError {
  readonly code = 'ERR_CHECKPOINT_NOT_FOUND';
}

/** Node's own shape for an aborted operation (`code` ABORT_ERR, name AbortError). */
export class AbortError extends BerthError {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    super(message, options);
    this.name = 'AbortError';
  }
}

export function abortErrorFrom(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

export function isErrnoException(err: unknown, code?: string): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    (code === undefined || (err as NodeJS.ErrnoException).code === code)
  );
}
