/**
 * Typed errors of the CRI's containers, with the gRPC status each becomes
 * (pod-errors.ts' `criStatusFromError` reads `CONTAINER_STATUS_BY_CODE`).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { BerthError } from '../runtime/index.js';

/** No CRI container has that id (or unique id prefix). */
export class CriContainerNotFoundError extends BerthError {
  readonly code = 'ERR_CRI_CONTAINER_NOT_FOUND';
}

/** A container id prefix names more than one container. */
export class AmbiguousContainerIdError extends BerthError {
  readonly code = 'ERR_AMBIGUOUS_CONTAINER_ID';
}

/** CreateContainer's config cannot make a container (no metadata, a bad name, a bad log path...). */
export class InvalidContainerConfigError extends BerthError {
  readonly code = 'ERR_INVALID_CONTAINER_CONFIG';
}

/** The pod already has a container of that name and attempt (the kubelet's `<name>_<attempt>`). */
export class ContainerNameTakenError extends BerthError {
  readonly code = 'ERR_CONTAINER_NAME_TAKEN';
}

/** The pod is not READY: no new container joins it. */
export class PodSandboxNotReadyError extends BerthError {
  readonly code = 'ERR_POD_SANDBOX_NOT_READY';
}

/** The container is not in the state the call needs (start of a started one, reopen of a stopped one). */
export class ContainerStateError extends BerthError {
  readonly code = 'ERR_CRI_CONTAINER_STATE';
}

/** The container did not exit after SIGKILL within the time allowed. */
export class ContainerStopTimeoutError extends BerthError {
  readonly code = 'ERR_CRI_CONTAINER_STOP_TIMEOUT';
}

export const CONTAINER_STATUS_BY_CODE: Readonly<Record<string, GrpcStatus>> = {
  ERR_CRI_CONTAINER_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_AMBIGUOUS_CONTAINER_ID: GrpcStatus.INVALID_ARGUMENT,
  ERR_INVALID_CONTAINER_CONFIG: GrpcStatus.INVALID_ARGUMENT,
  ERR_CONTAINER_NAME_TAKEN: GrpcStatus.ALREADY_EXISTS,
  ERR_POD_SANDBOX_NOT_READY: GrpcStatus.FAILED_PRECONDITION,
  ERR_CRI_CONTAINER_STATE: GrpcStatus.FAILED_PRECONDITION,
  ERR_CRI_CONTAINER_STOP_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  // The images layer's, as CreateContainer meets them.
  ERR_IMAGE_NO_COMMAND: GrpcStatus.INVALID_ARGUMENT,
  ERR_IMAGE_INVALID_OVERRIDE: GrpcStatus.INVALID_ARGUMENT,
  ERR_IMAGE_USER_NOT_FOUND: GrpcStatus.INVALID_ARGUMENT,
};
