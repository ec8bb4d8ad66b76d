/**
 * Typed errors of a CRI container's Linux config (security context,
 * seccomp, resources, mounts, devices): every one is the client's to fix, so
 * pod-errors.ts maps each code to INVALID_ARGUMENT.
 */
import { BerthError } from '../runtime/index.js';

/** A field of CreateContainer's config berth cannot turn into an OCI spec (a bad value, a conflict). */
export class InvalidContainerConfigError extends BerthError {
  readonly code: string = 'ERR_CRI_INVALID_CONTAINER_CONFIG';
}

/** A privileged container in a pod whose own security context is not privileged. */
export class PrivilegedNotAllowedError extends InvalidContainerConfigError {
  override readonly code: string = 'ERR_CRI_PRIVILEGED_NOT_ALLOWED';
  constructor() {
    super('no privileged container allowed in sandbox: the pod is not privileged');
  }
}

/** A Localhost seccomp profile that cannot be read, or is not a seccomp profile. */
export class SeccompProfileError extends InvalidContainerConfigError {
  override readonly code: string = 'ERR_CRI_SECCOMP_PROFILE';
  constructor(
    readonly path: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`seccomp profile ${JSON.stringify(path.slice(0, 200))}: ${reason}`, options);
  }
}

/** A mount's host path that cannot be bind-mounted (unreadable, or its propagation does not allow the mode). */
export class MountSourceError extends InvalidContainerConfigError {
  override readonly code: string = 'ERR_CRI_MOUNT_SOURCE';
  constructor(
    readonly hostPath: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`mount source ${JSON.stringify(hostPath.slice(0, 200))}: ${reason}`, options);
  }
}

/** A device whose host path is missing or not a character or block device. */
export class InvalidDeviceError extends InvalidContainerConfigError {
  override readonly code: string = 'ERR_CRI_INVALID_DEVICE';
  constructor(
    readonly hostPath: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`device ${JSON.stringify(hostPath.slice(0, 200))}: ${reason}`, options);
  }
}

/** Every code above: all INVALID_ARGUMENT for a CRI client. */
export const CONTAINER_CONFIG_ERROR_CODES: readonly string[] = [
  'ERR_CRI_INVALID_CONTAINER_CONFIG',
  'ERR_CRI_PRIVILEGED_NOT_ALLOWED',
  'ERR_CRI_SECCOMP_PROFILE',
  'ERR_CRI_MOUNT_SOURCE',
  'ERR_CRI_INVALID_DEVICE',
];
