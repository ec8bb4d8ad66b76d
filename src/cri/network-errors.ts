/**
 * Typed errors of pod networking (network namespaces, CNI): each has a stable
 * `code` the CRI handlers map to a gRPC status, and names what failed.
 */
import { BerthError } from '../runtime/index.js';

/** A network namespace of that name is there already. */
export class NetnsExistsError extends BerthError {
  readonly code = 'ERR_NETNS_EXISTS';
}

/** Making or removing a named network namespace failed (`unshare`, `umount`). */
export class NetnsError extends BerthError {
  readonly code = 'ERR_NETNS';
}

/** No usable network configuration: none in the conf dir, unreadable, bad JSON, missing fields. */
export class CniConfigError extends BerthError {
  readonly code = 'ERR_CNI_CONFIG';
}

/** A plugin the configuration names is in none of the bin dirs. */
export class CniPluginNotFoundError extends BerthError {
  readonly code = 'ERR_CNI_PLUGIN_NOT_FOUND';
  constructor(
    readonly plugin: string,
    readonly binDirs: readonly string[],
  ) {
    super(`CNI plugin ${JSON.stringify(plugin)} not found in ${binDirs.join(', ')}`);
  }
}

/** A plugin refused: `cniCode`, `cniMsg` and `details` are its own error JSON (CNI spec's error result). */
export class CniPluginError extends BerthError {
  readonly code = 'ERR_CNI_PLUGIN';
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly cniCode: number | undefined,
    readonly cniMsg: string,
    readonly details: string | undefined,
    options?: ErrorOptions,
  ) {
    const detail = details ? ` (${details})` : '';
    const code = cniCode === undefined ? '' : ` [code ${cniCode}]`;
    super(`CNI plugin ${plugin} ${command} failed${code}: ${cniMsg}${detail}`, options);
  }
}

/** A plugin did not finish in time (or the caller aborted): it was killed. */
export class CniTimeoutError extends BerthError {
  readonly code = 'ERR_CNI_TIMEOUT';
}

/** CHECK of an attachment berth has no record of. */
export class CniAttachmentNotFoundError extends BerthError {
  readonly code = 'ERR_CNI_ATTACHMENT_NOT_FOUND';
}
