/** berth: a container supervisor for Node.js. The runtime library (containerd v0.2.8's runtime package). */
export * from './runtime/constants.js';
export * from './runtime/errors.js';
export {
  Container,
  defaultShimPath,
  DEFAULT_RUNTIME,
  DEFAULT_START_TIMEOUT_MS,
} from './runtime/container.js';
export type {
  ContainerOpts,
  ContainerRecord,
  LoadOptions,
  StartOptions,
  ExecOptions,
} from './runtime/container.js';
export { ContainerProcess } from './runtime/process.js';
export type { ProcessSpec, ProcessState } from './runtime/process.js';
export { newStdio } from './runtime/stdio.js';
export type { Stdio, StdioOptions, StdioTarget } from './runtime/stdio.js';
export type * from './runtime/stats-types.js';
export { validateId } from './runtime/validate.js';
export type { Checkpoint } from './runtime/checkpoint.js';
export type { Resource } from './runtime/resources.js';
export { OomWatcher } from './runtime/oom.js';
export type { OomEvent } from './runtime/oom.js';
export { CgroupNotFoundError } from './runtime/cgroups/errors.js';
