/**
 * Typed errors of ExecSync, the streaming sessions and the stats RPCs, with
 * the gRPC status each becomes (pod-errors.ts merges this table into the
 * CRI's).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { BerthError } from '../runtime/index.js';

/** Exec or attach on a CRI container that is not running (created, exited, unknown). */
export class ContainerNotRunningError extends BerthError {
  readonly code = 'ERR_CRI_CONTAINER_NOT_RUNNING';
}

/** No CRI container has that id (or unique id prefix). */
export class CriContainerNotFoundError extends BerthError {
  readonly code = 'ERR_CRI_CONTAINER_NOT_FOUND';
}

/** ExecSync's command outlived its `timeout`: it was killed (containerd: context deadline exceeded). */
export class ExecTimeoutError extends BerthError {
  readonly code = 'ERR_EXEC_TIMEOUT';
}

/** Attach asked of a backend that was given no way to attach. */
export class AttachUnavailableError extends BerthError {
  readonly code = 'ERR_ATTACH_UNAVAILABLE';
}

/** A port-forward to a pod whose network cannot be entered (not ready, no namespace, bad port). */
export class PortForwardError extends BerthError {
  readonly code = 'ERR_PORT_FORWARD';
}

export const EXEC_STATUS_BY_CODE: Readonly<Record<string, GrpcStatus>> = {
  ERR_CRI_CONTAINER_NOT_RUNNING: GrpcStatus.FAILED_PRECONDITION,
  ERR_CRI_CONTAINER_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_EXEC_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ERR_ATTACH_UNAVAILABLE: GrpcStatus.UNIMPLEMENTED,
  ERR_PORT_FORWARD: GrpcStatus.FAILED_PRECONDITION,
};
