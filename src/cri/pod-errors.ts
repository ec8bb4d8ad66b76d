/**
 * Typed errors of the CRI's pod sandboxes, and the CRI's own mapping of
 * error codes to gRPC statuses: the containerd API's table (api/translate.ts)
 * plus what only the CRI layer raises.
 */
import { status as GrpcStatus, type Metadata } from '@grpc/grpc-js';
import { statusFromError } from '../api/translate.js';
import { BerthError } from '../runtime/index.js';
import { CONTAINER_CONFIG_ERROR_CODES } from './container-config-errors.js';
import { CONTAINER_STATUS_BY_CODE } from './container-errors.js';
import { EXEC_STATUS_BY_CODE } from './exec-errors.js';

/** No pod sandbox has that id (or unique id prefix). */
export class PodSandboxNotFoundError extends BerthError {
  readonly code = 'ERR_POD_SANDBOX_NOT_FOUND';
}

/** A sandbox id prefix names more than one sandbox. */
export class AmbiguousPodSandboxIdError extends BerthError {
  readonly code = 'ERR_AMBIGUOUS_POD_SANDBOX_ID';
}

/** RunPodSandbox's config cannot make a sandbox (missing metadata, a bad name, a forbidden sysctl...). */
export class InvalidPodConfigError extends BerthError {
  readonly code = 'ERR_INVALID_POD_CONFIG';
}

/** The pause container did not go away after SIGKILL within the time allowed. */
export class PodSandboxStopTimeoutError extends BerthError {
  readonly code = 'ERR_POD_SANDBOX_STOP_TIMEOUT';
}

/** A pod with its own network, on a berthd with no pod networking configured. */
export class PodNetworkUnavailableError extends BerthError {
  readonly code = 'ERR_POD_NETWORK_UNAVAILABLE';
}

const CRI_STATUS_BY_CODE: Readonly<Record<string, GrpcStatus>> = {
  ERR_POD_SANDBOX_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_AMBIGUOUS_POD_SANDBOX_ID: GrpcStatus.INVALID_ARGUMENT,
  ERR_INVALID_POD_CONFIG: GrpcStatus.INVALID_ARGUMENT,
  ERR_POD_SANDBOX_STOP_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ERR_POD_NETWORK_UNAVAILABLE: GrpcStatus.FAILED_PRECONDITION,
  ERR_IMAGE_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_IMAGE_INVALID_REFERENCE: GrpcStatus.INVALID_ARGUMENT,
  // A CRI container's Linux config (container-config-errors.ts): the client's to fix.
  ...Object.fromEntries(
    CONTAINER_CONFIG_ERROR_CODES.map((code) => [code, GrpcStatus.INVALID_ARGUMENT]),
  ),
  ...CONTAINER_STATUS_BY_CODE,
  ...EXEC_STATUS_BY_CODE,
};

/** The gRPC status a CRI client gets for `err`. */
export function criStatusFromError(err: unknown): {
  code: GrpcStatus;
  details: string;
  metadata?: Metadata;
} {
  const code = (err as { code?: unknown } | undefined)?.code;
  const mapped = typeof code === 'string' ? CRI_STATUS_BY_CODE[code] : undefined;
  if (mapped !== undefined) return { code: mapped, details: (err as Error).message };
  const { code: status, details, metadata } = statusFromError(err);
  return metadata ? { code: status, details, metadata } : { code: status, details };
}
