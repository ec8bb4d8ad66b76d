/** Errors of the cgroup readers. */
import { BerthError } from '../errors.js';

/**
 * The cgroup (or the process whose cgroup was asked for) no longer exists: the
 * container was deleted, or its init exited and the runtime removed the cgroup.
 */
export class CgroupNotFoundError extends BerthError {
  readonly code = 'ERR_CGROUP_NOT_FOUND';
  /** The directory (or /proc file) found missing. */
  readonly path: string;
  constructor(path: string, message = `cgroup not found: ${path}`, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
  }
}

/** A cgroup file held something runc itself would refuse to parse. */
export class CgroupParseError extends BerthError {
  readonly code = 'ERR_CGROUP_PARSE';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`cannot parse ${file}: ${detail}`);
  }
}
