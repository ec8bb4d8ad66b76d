/**
 * The v4 protocols' error-channel message: a metav1.Status in JSON, as the
 * kubelet writes it and as kubectl and crictl read it (a non-zero exit is a
 * Failure with reason NonZeroExitCode and the status in its causes).
 */
export interface StatusCause {
  reason?: string;
  message?: string;
}

export interface MetaStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: StatusCause[] };
  code?: number;
}

export function successStatus(): MetaStatus {
  return { metadata: {}, status: 'Success' };
}

export function exitCodeStatus(exitCode: number, cmd?: string[]): MetaStatus {
  const what = cmd ? `command [${cmd.join(' ')}]` : 'the process';
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing ${what}, exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export function internalErrorStatus(message: string): MetaStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

export function statusBytes(status: MetaStatus): Buffer {
  return Buffer.from(JSON.stringify(status));
}
