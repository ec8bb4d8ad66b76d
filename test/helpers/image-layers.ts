/**
 * A small image made by hand, laid out as the image store lays out unpacked
 * layers (`<root>/layers/sha256/<chainId hex>/fs`, overlayfs whiteouts): the
 * busybox rootfs as the lower layer, and an upper layer with a user `app`
 * in two supplementary groups, a whiteout and an opaque folder. For the
 * tests of running images that need no registry.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundleImage, BundleStore } from '../../src/images/rootfs.js';
import { ensureRootfs } from '../../support/busybox.js';

export interface HandMadeImage extends BundleImage {
  layerDirs: string[];
}

function hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export const APP_IMAGE_CONFIG = {
  config: {
    User: 'app',
    Env: ['PATH=/bin', 'FOO=from-image'],
    WorkingDir: '/home/app',
    Cmd: ['sh', '-c', 'id; pwd; echo "$FOO"'],
  },
};

/** Builds the two layers under `storeRoot` and returns the store view of them. */
export function handMadeStore(storeRoot: string): {
  store: BundleStore<HandMadeImage>;
  image: HandMadeImage;
} {
  const lowerHex = hex(`lower-${storeRoot}`);
  const upperHex = hex(`upper-${storeRoot}`);
  const lower = join(storeRoot, 'layers', 'sha256', lowerHex, 'fs');
  const upper = join(storeRoot, 'layers', 'sha256', upperHex, 'fs');
  mkdirSync(join(lower, '..'), { recursive: true });
  execFileSync('cp', ['-a', ensureRootfs(), lower]);
  writeFileSync(join(lower, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(lower, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(lower, 'hidden-file'), 'the upper layer deletes me\n');
  mkdirSync(join(lower, 'opaque'));
  writeFileSync(join(lower, 'opaque', 'old'), 'hidden by the opaque folder above\n');

  mkdirSync(join(upper, 'etc'), { recursive: true });
  mkdirSync(join(upper, 'home', 'app'), { recursive: true });
  writeFileSync(
    join(upper, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n',
  );
  writeFileSync(
    join(upper, 'etc', 'group'),
    'root:x:0:\napp:x:1000:\nextra:x:2000:app\nmore:x:3000:other,app\nnone:x:4000:other\n',
  );
  execFileSync('chown', ['1000:1000', join(upper, 'home', 'app')]);
  // overlayfs's own forms, as the store unpacks OCI whiteouts.
  execFileSync('mknod', [join(upper, 'hidden-file'), 'c', '0', '0']);
  mkdirSync(join(upper, 'opaque'));
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'opaque')]);
  writeFileSync(join(upper, 'opaque', 'new'), 'only this\n');

  const image: HandMadeImage = {
    name: 'localhost/hand-made:latest',
    id: `sha256:${hex(`config-${storeRoot}`)}`,
    config: APP_IMAGE_CONFIG,
    layers: [{ chainId: `sha256:${lowerHex}` }, { chainId: `sha256:${upperHex}` }],
    layerDirs: [lower, upper],
  };
  const store: BundleStore<HandMadeImage> = {
    root: storeRoot,
    async get() {
      return image;
    },
    layerPaths: (wanted) => wanted.layerDirs,
  };
  return { store, image };
}

/** Number of inodes (files, folders, links) under `dir`, not into mounts. */
export function inodeCount(dir: string): number {
  return Number(execFileSync('find', [dir, '-xdev', '-printf', '.'], { encoding: 'utf8' }).length);
}
