/**
 * `npm run bench:images`: images end to end on a local registry (Debian's
 * docker-registry on 127.0.0.1; the busybox test image, padded to make the
 * pull measurable, pushed with skopeo).
 * 1. pull (bench/images-pull.ts): berth's pull into a fresh store against
 *    `skopeo copy` of the same image into an OCI layout (skopeo does not
 *    unpack: berth does more), medians of a few rounds;
 * 2. 100 containers of the image: bundle + overlay + Container.create, run
 *    to their exit and all kept, then deleted; against a `cp -a` of the
 *    layers into each bundle. Time, and disk used by the 100.
 * Last line: one JSON object {pullMs, skopeoMs, ratio, create100Ms, disk100Mb}.
 *
 *   npm run bench:images [-- --count 100 --padding-mb 32 --rounds 3]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ImageStore } from '../src/images/index.js';
import { tempDir } from '../support/busybox.js';
import { buildTestImage, pushImage, startRegistry } from '../test/helpers/registry.js';
import { benchCreate } from './images-create.js';
import { benchImagesPull } from './images-pull.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100' },
    'padding-mb': { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
  },
});
const count = Number(values.count);
const paddingBytes = Number(values['padding-mb']) * 1024 * 1024;

const pull = await benchImagesPull({ rounds: Number(values.rounds), padding: paddingBytes });
console.log(
  `pull of ${(pull.bytes / 1e6).toFixed(1)} MB in ${pull.layers} layers, median of ${pull.rounds}: ` +
    `berth ${pull.pullMs} ms (verified and unpacked), skopeo copy ${pull.skopeoMs} ms (not unpacked)`,
);

const base = tempDir('berth-bench-images-');
const registry = await startRegistry();
try {
  await buildTestImage(join(base, 'layout'), 'bench', { padding: paddingBytes });
  const ref = await pushImage(join(base, 'layout'), 'bench', registry, 'bench', 'latest');
  const store = await ImageStore.open({ root: join(base, 'store') });
  const image = await store.pull(ref);
  const figures = await benchCreate(store, image, {
    count,
    stateRoot: join(base, 'state'),
    copiesDir: join(base, 'copies'),
    // The test image is busybox and a few links: `true` through busybox.
    args: ['busybox', 'true'],
  });
  console.log(
    `${count} containers of the image, created and run to their exit: overlay ${figures.overlayMs} ms ` +
      `(bundles + Container.create ${figures.overlayPrepareMs} ms), ${figures.overlayDiskMb} MB; ` +
      `cp -a of the layers ${figures.copyMs} ms (copies + Container.create ${figures.copyPrepareMs} ms), ${figures.copyDiskMb} MB; ` +
      `layers' inodes ${figures.layerInodesBefore} before, ${figures.layerInodesAfter} after`,
  );
  console.log(
    JSON.stringify({
      pullMs: pull.pullMs,
      skopeoMs: pull.skopeoMs,
      ratio: Math.round((pull.pullMs / pull.skopeoMs) * 100) / 100,
      create100Ms: figures.overlayMs,
      disk100Mb: figures.overlayDiskMb,
      copy100Ms: figures.copyMs,
      copyDisk100Mb: figures.copyDiskMb,
    }),
  );
} finally {
  await registry.stop();
  rmSync(base, { recursive: true, force: true });
}
