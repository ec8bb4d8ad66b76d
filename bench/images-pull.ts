/**
 * Pull time of a multi-layer image from a local registry (Debian's
 * docker-registry on 127.0.0.1): berth (into an empty store each round:
 * download, verify, unpack) against `skopeo copy docker://... oci:<dir>`
 * (download and verify only; skopeo does not unpack), in the same run,
 * alternating. Medians in ms.
 *
 *   node dist/bench/images-pull.js [--rounds N] [--padding BYTES]
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { images } from '../src/index.js';
import { buildTestImage, pushImage, startRegistry, tempDir } from '../test/helpers/registry.js';

const execFileAsync = promisify(execFile);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface ImagesPullResult {
  pullMs: number;
  skopeoMs: number;
  rounds: number;
  layers: number;
  /** Compressed bytes of the image's layers. */
  bytes: number;
}

/** Pulls the test image (3 busybox layers + a random `padding`-byte layer) `rounds` times with each tool. */
export async function benchImagesPull(
  opts: { rounds?: number; padding?: number } = {},
): Promise<ImagesPullResult> {
  const rounds = opts.rounds ?? 5;
  const base = tempDir('berth-bench-images-');
  const registry = await startRegistry();
  try {
    const built = await buildTestImage(join(base, 'layout'), 'bench', {
      padding: opts.padding ?? 8 * 1024 * 1024,
    });
    const ref = await pushImage(join(base, 'layout'), 'bench', registry);
    const pullMs: number[] = [];
    const skopeoMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const root = join(base, `store-${round}`);
      let started = performance.now();
      const store = await images.ImageStore.open({ root });
      await store.pull(ref);
      pullMs.push(performance.now() - started);
      rmSync(root, { recursive: true, force: true });

      const destination = join(base, `skopeo-${round}`);
      started = performance.now();
      await execFileAsync('skopeo', [
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${ref}`,
        `oci:${destination}:bench`,
      ]);
      skopeoMs.push(performance.now() - started);
      rmSync(destination, { recursive: true, force: true });
    }
    return {
      pullMs: Math.round(median(pullMs)),
      skopeoMs: Math.round(median(skopeoMs)),
      rounds,
      layers: built.layers.length,
      bytes: built.layers.reduce((sum, layer) => sum + layer.size, 0),
    };
  } finally {
    await registry.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '5' }, padding: { type: 'string' } },
  });
  const result = await benchImagesPull({
    rounds: Number(values.rounds),
    ...(values.padding !== undefined && { padding: Number(values.padding) }),
  });
  console.log(JSON.stringify(result));
}
