/**
 * The runtime layer's only entry point: containerd v0.2.8's runtime package,
 * "the seed" (docs/SEED.md: Container, Process, their errors and types), on an
 * OCI runtime and berth-shim. The layers above (images, supervisor, api, cri,
 * daemon, cli) import from here and nowhere else (lint enforces it).
 */
export { InitProcessID, KilledStatus, State, UnknownStatus } from './constants.js';
export type { RuntimeStatus } from './constants.js';
export * from './errors.js';
export { Container } from './container.js';
export {
  DEFAULT_RUNTIME,
  DEFAULT_START_TIMEOUT_MS,
  type CallOptions,
  type ContainerOpts,
  type ExecOptions,
  type LoadAllResult,
  type LoadFailure,
  type LoadOptions,
  type RunOptions,
  type StartOptions,
} from './options.js';
export { ContainerProcess, type ProcessOwner } from './process.js';
export type { BundleConfig, ProcessSpec } from './oci/spec.js';
export { readBundleConfig, readBundleConfigText } from './oci/bundle.js';
export { removeUnrecordedContainers } from './load.js';
export { defaultBundleConfig, DEFAULT_CAPABILITIES, DEFAULT_PATH_ENV } from './oci/default-spec.js';
export { DEFAULT_RUNTIME_CALL_TIMEOUT_MS, CHECKPOINT_TIMEOUT_MS } from './oci/cli.js';
export { ControlMessage, type OutputStream } from './shim/protocol.js';
export { defaultShimPath } from './shim/binary.js';
export {
  ControlFile,
  ExitFile,
  ExitStatusFile,
  ProcessFile,
  StartTimeFile,
  StateFile,
} from './state/layout.js';
export type { ContainerRecord, ProcessState } from './state/records.js';
export { newStdio } from './stdio.js';
export type { Stdio, StdioOptions, StdioTarget } from './stdio.js';
export type * from './cgroups/types.js';
export { CgroupNotFoundError, CgroupParseError } from './cgroups/errors.js';
export { readStats } from './cgroups/stats.js';
export { cgroupPathsForPid, type CgroupPaths } from './cgroups/paths.js';
export { validateId } from './validate.js';
export { USER_HZ, readProcessStartMs, readSystemCpuUsageNs } from './procfs.js';
export type { Checkpoint } from './checkpoint.js';
export type { Resource } from './resources.js';
export { OomWatcher } from './oom.js';
export type { OomEvent } from './oom.js';
export { writeFileAtomic, writeFileAtomicAsync } from './state/files.js';
export {
  RootfsFile,
  isMounted,
  mountPoints,
  type OwnedRootfs,
  type RootfsMount,
} from './rootfs.js';
export { isSameProcess, readStartTime } from './procfs.js';
