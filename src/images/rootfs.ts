/**
 * A container's rootfs from an image: `<store>/containers/<id>/` holds the
 * bundle (config.json), its own upper/ and work/ dirs, the rootfs/ mount
 * point and berth-rootfs.json, which tells the runtime library to mount an
 * overlay of the image's shared layers there at start and to unmount it and
 * remove the folder at delete. Nothing of the layers is copied: the 100th
 * container of an image costs a few empty folders.
 *
 *   const bundle = await createImageBundle(store, { id: 'web-1', image: 'busybox:latest' });
 *   const container = await Container.create({ root, id: 'web-1', bundle: bundle.path });
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  RootfsFile,
  isErrnoException,
  mountPoints,
  validateId,
  type BundleConfig,
  type RootfsMount,
} from '../runtime/index.js';
import { imageBundleConfig, type ImageOverrides, type RunnableImageConfig } from './bundle.js';
import { StoreError } from './errors.js';
import { ContainerRootfsExistsError, TooManyLayersError } from './use-errors.js';

/** Under the store root: one folder per container made from an image. */
export const CONTAINERS_DIR = 'containers';
/** A folder no container was created for is left this long (the CLI may be about to create it). */
export const STALE_ROOTFS_AGE_MS = 60_000;
/** The kernel copies mount options into one page. */
const MOUNT_DATA_MAX = 4095;

/** What creating a bundle needs of an image. */
export interface BundleImage {
  name: string;
  id: string;
  config: RunnableImageConfig;
  layers: readonly { chainId: string }[];
}

/** What creating a bundle needs of the store (ImageStore has it). */
export interface BundleStore<I extends BundleImage = BundleImage> {
  readonly root: string;
  get(ref: string): Promise<I>;
  layerPaths(image: I): string[];
}

export interface ImageBundle {
  /** The bundle folder: give it to `Container.create({ bundle })` or CreateContainer. */
  path: string;
  /** Where the overlay goes (root.path). */
  rootfs: string;
  image: BundleImage;
  config: BundleConfig;
}

/** berth-rootfs.json as the images layer writes it (the runtime reads mounts and removeBundle). */
export interface ContainerRootfsRecord {
  image: string;
  name: string;
  layers: string[];
  mounts: RootfsMount[];
  removeBundle: true;
  created: string;
  /** Written by the runtime library at Container.create. */
  owner?: { root: string; id: string };
}

export function containersDir(storeRoot: string): string {
  return join(storeRoot, CONTAINERS_DIR);
}

function chainDigest(chainId: string): string {
  return chainId.startsWith('sha256:') ? chainId : `sha256:${chainId}`;
}

/**
 * The overlay mount: the top layer first in lowerdir, each relative to the
 * store's layers folder (short enough for 50+ layers in one page).
 */
export function overlayMount(
  storeRoot: string,
  layerPaths: readonly string[],
  containerDir: string,
): RootfsMount {
  for (const path of [storeRoot, ...layerPaths])
    if (/[,:]/.test(path))
      throw new StoreError(`an overlay cannot take a path with ',' or ':': ${path}`, path);
  const cwd = join(storeRoot, 'layers');
  const lowers = [...layerPaths]
    .reverse()
    .map((path) => (path.startsWith(`${cwd}/`) ? relative(cwd, path) : path));
  const options = [
    `lowerdir=${lowers.join(':')}`,
    `upperdir=${join(containerDir, 'upper')}`,
    `workdir=${join(containerDir, 'work')}`,
  ];
  if (options.join(',').length > MOUNT_DATA_MAX)
    throw new TooManyLayersError(
      `${layerPaths.length} layers do not fit into one overlay mount's options (one page)`,
    );
  return { type: 'overlay', source: 'overlay', options, cwd };
}

/**
 * Makes `<store>/containers/<id>/` for a container of `image` (a reference
 * the store has, or an image already looked up). Everything made is removed
 * again if any step fails.
 */
export async function createImageBundle<I extends BundleImage>(
  store: BundleStore<I>,
  options: { id: string; image: string | I; overrides?: ImageOverrides },
): Promise<ImageBundle> {
  const id = validateId('container id', options.id);
  const image = typeof options.image === 'string' ? await store.get(options.image) : options.image;
  const layers = store.layerPaths(image);
  const config = await imageBundleConfig({
    imageName: image.name || image.id,
    image: image.config,
    layers,
    hostname: id,
    ...(options.overrides ? { overrides: options.overrides } : {}),
  });
  const parent = containersDir(store.root);
  const dir = join(parent, id);
  await mkdir(parent, { recursive: true, mode: 0o711 });
  try {
    await mkdir(dir, { mode: 0o711 });
  } catch (err) {
    if (isErrnoException(err, 'EEXIST')) throw new ContainerRootfsExistsError(id, dir);
    throw err;
  }
  try {
    // An image without layers (FROM scratch, nothing added) still needs one lowerdir.
    const lowers = layers.length ? layers : [join(dir, 'empty')];
    for (const sub of ['upper', 'work', 'rootfs', ...(layers.length ? [] : ['empty'])])
      await mkdir(join(dir, sub), { mode: 0o755 });
    const record: ContainerRootfsRecord = {
      image: image.id,
      name: image.name,
      layers: image.layers.map((layer) => chainDigest(layer.chainId)),
      mounts: [overlayMount(store.root, lowers, dir)],
      removeBundle: true,
      created: new Date().toISOString(),
    };
    await writeFile(join(dir, RootfsFile), JSON.stringify(record, null, 2));
    await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { path: dir, rootfs: join(dir, 'rootfs'), image, config };
}

/** Every container rootfs record of the store (for GC: the layers they hold). */
export async function readContainerRootfsRecords(
  storeRoot: string,
): Promise<{ dir: string; record: ContainerRootfsRecord | undefined }[]> {
  const parent = containersDir(storeRoot);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return [];
    throw err;
  }
  const found = [];
  for (const name of names) {
    const dir = join(parent, name);
    let record: ContainerRootfsRecord | undefined;
    try {
      record = JSON.parse(await readFile(join(dir, RootfsFile), 'utf8')) as ContainerRootfsRecord;
    } catch {
      record = undefined;
    }
    found.push({ dir, record });
  }
  return found;
}

/** Whether the container that the record names still exists with this folder as its bundle. */
async function ownerHolds(dir: string, owner: { root: string; id: string }): Promise<boolean> {
  try {
    validateId('container id', owner.id);
    const state = JSON.parse(await readFile(join(owner.root, owner.id, 'state.json'), 'utf8')) as {
      bundle?: unknown;
    };
    return state.bundle === dir;
  } catch (err) {
    // Unreadable for another reason than absence: keep it, a human should look.
    return !(isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ENOTDIR'));
  }
}

/**
 * Removes container rootfs folders nobody will delete: not mounted, older
 * than a minute, and no container (by the owner recorded at create) uses
 * them. For the store's prune. Returns the folders removed.
 */
export async function removeStaleContainerRootfs(
  storeRoot: string,
  now = Date.now(),
): Promise<string[]> {
  const mounted = mountPoints();
  const removed: string[] = [];
  for (const { dir, record } of await readContainerRootfsRecords(storeRoot)) {
    if (mounted.some((point) => point === dir || point.startsWith(`${dir}/`))) continue;
    let age: number;
    try {
      age = now - (await stat(dir)).mtimeMs;
    } catch {
      continue;
    }
    if (age < STALE_ROOTFS_AGE_MS) continue;
    if (record?.owner && (await ownerHolds(dir, record.owner))) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
