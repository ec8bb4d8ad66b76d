/**
 * How the CLI fails: one line on stderr, `berth: <what> (<code>)`, and an
 * exit status: 2 for usage errors, 1 for everything else. The code is the
 * gRPC status name for a daemon's answer (NOT_FOUND), the library's stable
 * `code` when the library ran in-process (ERR_CONTAINER_EXISTS), the errno
 * name for a system call (ENOENT), or one of the CLI's own (ERR_USAGE).
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** An error the CLI raises itself: a code, and the exit status it means. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad flags, arguments or combinations of them: exit status 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 'ERR_USAGE', EXIT_USAGE);
    this.name = 'UsageError';
  }
}

/** Ctrl-C ended a wait: exit status 130. */
export class InterruptedError extends CliError {
  constructor(message: string) {
    super(message, 'ERR_INTERRUPTED', EXIT_INTERRUPTED);
    this.name = 'InterruptedError';
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === 'number' &&
    typeof (err as Partial<ServiceError>).details === 'string' &&
    'metadata' in err
  );
}

/** NOT_FOUND for 5, and so on; the number itself for a code grpc-js does not name. */
export function grpcCodeName(code: number): string {
  const name = (GrpcStatus as unknown as Record<number, string | undefined>)[code];
  return name ?? String(code);
}

export interface Described {
  message: string;
  code: string;
  exitCode: number;
}

/** What to print and which status to exit with, for anything thrown. */
export function describeError(err: unknown, address?: string): Described {
  if (err instanceof CliError) {
    return { message: err.message, code: err.code, exitCode: err.exitCode };
  }
  if (isServiceError(err)) {
    const code = grpcCodeName(err.code);
    const details = err.details || err.message;
    if (err.code === GrpcStatus.UNAVAILABLE && address !== undefined) {
      // grpc-js: "No connection established. Last error: Error: connect ENOENT /path. ..."
      const cause = /\b(connect E[A-Z]+ [^\s.]+(?:\.[^\s.]+)*)/.exec(details)?.[1];
      return {
        message: `cannot reach berthd at ${address}: ${cause ?? details}`,
        code,
        exitCode: EXIT_FAILURE,
      };
    }
    return { message: details, code, exitCode: EXIT_FAILURE };
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      message: err.message,
      code: typeof code === 'string' && code !== '' ? code : 'ERR_INTERNAL',
      exitCode: EXIT_FAILURE,
    };
  }
  return { message: String(err), code: 'ERR_INTERNAL', exitCode: EXIT_FAILURE };
}

/** The one line: `berth: <what> (<code>)`, with the message's own line breaks folded. */
export function formatError(described: Pick<Described, 'message' | 'code'>): string {
  const what = described.message.replace(/\s*\n\s*/g, '; ').trim() || 'failed';
  return `berth: ${what} (${described.code})`;
}
