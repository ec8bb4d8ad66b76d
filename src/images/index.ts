/**
 * berth's images layer: pull from OCI registries, import OCI layouts and
 * docker archives, keep verified blobs and unpacked layers in a store, and
 * garbage-collect what no image or container uses.
 */
export * from './errors.js';
export type * from './types.js';
export { parseReference } from './reference.js';
