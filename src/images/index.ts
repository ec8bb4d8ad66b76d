/**
 * berth's images layer: pull from OCI registries, import OCI layouts and
 * docker archives, keep verified blobs and unpacked layers in a store, and
 * garbage-collect what no image or container uses.
 */
export * from './errors.js';
export type * from './types.js';
export { parseReference } from './reference.js';
export { ImageStore } from './store.js';
export type { PruneResult } from './gc.js';
export { DEFAULT_STORE_ROOT } from './layout.js';
// Running an image: its bundle and its container rootfs (the "use" half).
export * from './use-errors.js';
export {
  DOCKER_CAPABILITIES,
  imageBundleConfig,
  type ImageOverrides,
  type RunnableImageConfig,
} from './bundle.js';
export {
  createImageBundle,
  containersDir,
  readContainerRootfsRecords,
  removeStaleContainerRootfs,
  type BundleImage,
  type BundleStore,
  type ContainerRootfsRecord,
  type ImageBundle,
} from './rootfs.js';
export { resolveImageUser, type ExecUser } from './user.js';
export { readImageFile } from './layer-read.js';
