/**
 * Which signal numbers a container process may be sent: Linux's 1 to
 * SIGRTMAX (64). 0 would only probe whether the process exists, which is
 * not a signal the supervisor delivers. The gRPC service and the CLI check
 * the same range with these.
 */
import { InvalidArgumentError } from '../runtime/index.js';

/** SIGRTMAX on Linux. */
export const MAX_SIGNAL = 64;

export function isSignalNumber(signal: number): boolean {
  return Number.isInteger(signal) && signal >= 1 && signal <= MAX_SIGNAL;
}

/** The signal, or an InvalidArgumentError if it is no signal number. */
export function checkSignal(signal: number): number {
  if (!isSignalNumber(signal)) {
    throw new InvalidArgumentError(`signal ${signal} is not a signal number (1-${MAX_SIGNAL})`);
  }
  return signal;
}
