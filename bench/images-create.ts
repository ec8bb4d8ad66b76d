/**
 * The "use" half of `npm run bench:images`: N containers of one image, each
 * created (bundle + Container.create), run to its exit (`true`; the overlay
 * is mounted at start) and kept until all N exist, then deleted; against
 * the same with a `cp -a` of the image's unpacked layers into each bundle.
 * Time to have all N, and disk used by the N (`du -x`: not into the mounts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container, defaultBundleConfig } from '../src/index.js';
import {
  containersDir,
  createImageBundle,
  type BundleImage,
  type BundleStore,
} from '../src/images/index.js';

export interface CreateFigures {
  count: number;
  /** All N created and run to their exit, from the image's shared layers. */
  overlayMs: number;
  /** Of which making the bundles and Container.create (the rest is the runs, the overlay mounts included). */
  overlayPrepareMs: number;
  /** The same with a copy of the layers per container. */
  copyMs: number;
  copyPrepareMs: number;
  overlayDiskMb: number;
  copyDiskMb: number;
  /** Inodes of the layers before and after: equal when nothing was copied into them. */
  layerInodesBefore: number;
  layerInodesAfter: number;
}

function duMb(dir: string): number {
  const kb = Number(execFileSync('du', ['-sxk', dir], { encoding: 'utf8' }).split('\t')[0]);
  return Math.round((kb / 1024) * 10) / 10;
}

function inodes(dirs: readonly string[]): number {
  let count = 0;
  for (const dir of dirs)
    count += execFileSync('find', [dir, '-xdev', '-printf', '.'], { encoding: 'utf8' }).length;
  return count;
}

async function runToExit(container: Container): Promise<void> {
  const init = await container.run();
  const status = await init.wait();
  if (status !== 0) throw new Error(`container ${container.id} exited with ${status}`);
}

export async function benchCreate<I extends BundleImage>(
  store: BundleStore<I>,
  image: I,
  options: { count: number; stateRoot: string; copiesDir: string; args?: string[] },
): Promise<CreateFigures> {
  const layers = store.layerPaths(image);
  const args = options.args ?? ['true'];
  const layerInodesBefore = inodes(layers);
  const tag = `${process.pid}-${Date.now().toString(36)}`;

  const overlay: Container[] = [];
  let overlayMs = 0;
  let overlayPrepareMs = 0;
  let overlayDiskMb = 0;
  let started = performance.now();
  try {
    for (let i = 0; i < options.count; i++) {
      const id = `bench-img-${tag}-${i}`;
      const preparing = performance.now();
      const bundle = await createImageBundle(store, { id, image, overrides: { args } });
      const container = await Container.create({
        root: options.stateRoot,
        id,
        bundle: bundle.path,
      });
      overlay.push(container);
      overlayPrepareMs += performance.now() - preparing;
      await runToExit(container);
    }
  } finally {
    overlayMs = performance.now() - started;
    overlayDiskMb = duMb(containersDir(store.root));
    for (const container of overlay) await container.delete({ force: true });
  }

  const copies: Container[] = [];
  let copyMs = 0;
  let copyPrepareMs = 0;
  let copyDiskMb = 0;
  started = performance.now();
  try {
    for (let i = 0; i < options.count; i++) {
      const id = `bench-cp-${tag}-${i}`;
      const dir = join(options.copiesDir, id);
      const preparing = performance.now();
      mkdirSync(join(dir, 'rootfs'), { recursive: true });
      // Lowest layer first, each over the one below (whiteouts aside: enough for the cost).
      for (const layer of layers) execFileSync('cp', ['-a', `${layer}/.`, join(dir, 'rootfs')]);
      const config = defaultBundleConfig('rootfs');
      Object.assign(config.process, { terminal: false, args });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      const container = await Container.create({ root: options.stateRoot, id, bundle: dir });
      copies.push(container);
      copyPrepareMs += performance.now() - preparing;
      await runToExit(container);
    }
  } finally {
    copyMs = performance.now() - started;
    copyDiskMb = duMb(options.copiesDir);
    for (const container of copies) await container.delete({ force: true });
    rmSync(options.copiesDir, { recursive: true, force: true });
  }

  return {
    count: options.count,
    overlayMs: Math.round(overlayMs),
    overlayPrepareMs: Math.round(overlayPrepareMs),
    copyMs: Math.round(copyMs),
    copyPrepareMs: Math.round(copyPrepareMs),
    overlayDiskMb,
    copyDiskMb,
    layerInodesBefore,
    layerInodesAfter: inodes(layers),
  };
}
