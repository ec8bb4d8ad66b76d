/**
 * The store shared by processes: the lock excludes across processes and is
 * freed when its holder dies; two pulls of one image at once both succeed;
 * what a crash leaves (half-unpacked layers, .partial files) is never read
 * and prune removes it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { images } from '../../src/index.js';
import {
  buildTestImage,
  pushImage,
  startRegistry,
  tempDir,
  type Registry,
} from '../helpers/registry.js';

const { ImageStore } = images;
const entry = fileURLToPath(new URL('../../src/index.js', import.meta.url));

let base: string;
let registry: Registry;
let ref: string;

before(async () => {
  base = tempDir();
  registry = await startRegistry();
  await buildTestImage(join(base, 'layout'), 'tag');
  ref = await pushImage(join(base, 'layout'), 'tag', registry);
});

after(async () => {
  await registry?.stop();
  rmSync(base, { recursive: true, force: true });
});

test('withLock excludes within a process and across processes; a dead holder frees it', async () => {
  const root = join(base, 'store-lock');
  const store = await ImageStore.open({ root });
  let inside = 0;
  let overlapped = false;
  const hold = () =>
    store.withLock(async () => {
      inside++;
      if (inside > 1) overlapped = true;
      await new Promise((resolve) => setTimeout(resolve, 50));
      inside--;
    });
  await Promise.all([hold(), hold(), hold()]);
  assert.equal(overlapped, false);
  // Reentrant: a holder may call the store's locking methods.
  assert.deepEqual(await store.withLock(() => store.prune()), { blobs: 0, layers: 0, bytes: 0 });

  // Another process takes the lock and never lets go.
  const script = `import(${JSON.stringify(entry)}).then(async ({ images }) => {
    const store = await images.ImageStore.open({ root: ${JSON.stringify(root)} });
    await store.withLock(() => { process.stdout.write('held\\n'); return new Promise(() => setInterval(() => {}, 1000)); });
  });`;
  const holder = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
      holder.once('exit', () => reject(new Error('holder exited before holding the lock')));
    });
    const waited = Date.now();
    await assert.rejects(
      store.withLock(async () => {}, AbortSignal.timeout(300)),
      (err: unknown) => (err as Error).name === 'TimeoutError',
    );
    assert.ok(Date.now() - waited >= 250, 'it waited for the holder');
  } finally {
    process.kill(holder.pid!, 'SIGKILL');
    await exited;
  }
  // The kernel freed the lock with its holder (its flock child sees EOF and ends).
  let ran = false;
  await store.withLock(async () => {
    ran = true;
  }, AbortSignal.timeout(5000));
  assert.ok(ran);
});

test('two pulls of one image at once (two stores on one root) both succeed with one copy', async () => {
  const root = join(base, 'store-race');
  const [a, b] = await Promise.all([ImageStore.open({ root }), ImageStore.open({ root })]);
  const [first, second] = await Promise.all([a.pull(ref), b.pull(ref)]);
  assert.equal(first.id, second.id);
  assert.equal(readdirSync(join(root, 'layers/sha256')).length, 3);
  assert.equal(readdirSync(join(root, 'images')).length, 1);
  assert.deepEqual(readdirSync(join(root, 'ingest')), []);
});

test('leftovers of a crash (a half-unpacked layer, a .partial, a temp record) are never read; prune removes them', async () => {
  const root = join(base, 'store-crash');
  const store = await ImageStore.open({ root });
  const image = await store.pull(ref);
  mkdirSync(join(root, 'layers/tmp/layer-crashed/fs/bin'), { recursive: true });
  writeFileSync(join(root, 'ingest', `${'a'.repeat(64)}.partial`), 'half');
  writeFileSync(join(root, 'images', '.partial-record.json.tmp-1'), '{');
  writeFileSync(join(root, 'blobs/sha256', 'b'.repeat(64)), 'orphan');
  assert.deepEqual(
    (await store.list()).map((i) => i.id),
    [image.id],
  );
  const pruned = await store.prune();
  assert.equal(pruned.blobs, 1);
  assert.equal(pruned.layers, 0);
  assert.deepEqual(readdirSync(join(root, 'layers/tmp')), []);
  assert.deepEqual(readdirSync(join(root, 'ingest')), []);
  assert.equal(readdirSync(join(root, 'images')).length, 1, 'only the record is left');
  assert.ok(!existsSync(join(root, 'blobs/sha256', 'b'.repeat(64))));
  assert.equal((await store.get(image.name)).id, image.id, 'the image is whole after prune');
  for (const path of store.layerPaths(image)) assert.ok(existsSync(path));
});
