/** The supervisor's own errors (the runtime library's are re-used as they are). */
import { BerthError } from '../runtime/index.js';

/**
 * A subscriber fell too far behind: its stream ends here rather than skip an
 * event. `lastTimestamp` is the last event it was given (0n if none); a new
 * subscription with `since: lastTimestamp` resumes without a gap.
 */
export class SlowSubscriberError extends BerthError {
  readonly code = 'ERR_SLOW_SUBSCRIBER';
  constructor(
    readonly lastTimestamp: bigint,
    message = `subscriber too slow: events after ${lastTimestamp} were not delivered; resubscribe from that timestamp`,
  ) {
    super(message);
  }
}

/** Another supervisor holds the state dir. */
export class StateDirLockedError extends BerthError {
  readonly code = 'ERR_STATE_DIR_LOCKED';
}
