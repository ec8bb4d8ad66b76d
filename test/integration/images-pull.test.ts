/**
 * Pull from a real registry (Debian's docker-registry) and import from an
 * OCI layout and a docker archive (made by skopeo) the test image built from
 * /bin/busybox; every property of the unpacked layers is checked on disk.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { images } from '../../src/index.js';
import {
  buildTestImage,
  buildTestIndex,
  pushImage,
  startRegistry,
  tempDir,
  toDockerArchive,
  TEST_MTIME,
  BUSYBOX,
  type BuiltImage,
  type Registry,
} from '../helpers/registry.js';

const { ImageStore, ImageInUseError, ImageNotFoundError, PlatformNotFoundError } = images;

let registry: Registry;
let base: string;
let built: BuiltImage;
let ref: string;

before(async () => {
  base = tempDir();
  registry = await startRegistry();
  built = await buildTestImage(join(base, 'layout'), 'tag');
  ref = await pushImage(join(base, 'layout'), 'tag', registry);
});

after(async () => {
  await registry?.stop();
  rmSync(base, { recursive: true, force: true });
});

function getfattr(name: string, path: string): string | undefined {
  try {
    return execFileSync('getfattr', ['-h', '--only-values', '-n', name, path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
}

function rdev(path: string): { major: number; minor: number } {
  const { rdev } = statSync(path);
  return { major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}

/** Every property the test image's layers were built with, checked on the unpacked dirs. */
function checkLayers(paths: string[]): void {
  assert.equal(paths.length, 3);
  const [one, two, three] = paths as [string, string, string];
  // Layer 1: the base.
  const busybox = statSync(join(one, 'bin/busybox'));
  assert.equal(busybox.size, statSync(BUSYBOX).size);
  assert.equal(busybox.mode & 0o7777, 0o755);
  assert.equal(busybox.mtime.getTime(), TEST_MTIME.getTime());
  const hardlink = statSync(join(one, 'bin/busybox-hardlink'));
  assert.equal(hardlink.ino, busybox.ino, 'the hard link shares the inode');
  assert.equal(busybox.nlink, 2);
  assert.ok(lstatSync(join(one, 'bin/sh')).isSymbolicLink());
  assert.equal(
    execFileSync('readlink', [join(one, 'bin/sh')], { encoding: 'utf8' }).trim(),
    'busybox',
  );
  assert.equal(
    execFileSync('readlink', [join(one, 'bin/ls')], { encoding: 'utf8' }).trim(),
    '/bin/busybox',
  );
  const devNull = lstatSync(join(one, 'dev/null'));
  assert.ok(devNull.isCharacterDevice());
  assert.deepEqual(rdev(join(one, 'dev/null')), { major: 1, minor: 3 });
  assert.equal(devNull.mode & 0o777, 0o666);
  assert.equal(getfattr('user.berth', join(one, 'etc/xattr-file')), 'hello');
  const owned = statSync(join(one, 'home/user/owned'));
  assert.deepEqual([owned.uid, owned.gid, owned.mode & 0o777], [1000, 1000, 0o600]);
  const home = statSync(join(one, 'home/user'));
  assert.deepEqual([home.uid, home.mode & 0o777], [1000, 0o700]);
  assert.equal(home.mtime.getTime(), TEST_MTIME.getTime(), 'dir mtimes survive their children');
  assert.equal(statSync(join(one, 'tmp')).mode & 0o7777, 0o1777);
  assert.ok(existsSync(join(one, 'etc/removed')));
  assert.ok(existsSync(join(one, 'opaque/old')));
  // Layer 2: a whiteout and an opaque dir, as overlayfs reads them.
  const whiteout = lstatSync(join(two, 'etc/removed'));
  assert.ok(whiteout.isCharacterDevice());
  assert.deepEqual(rdev(join(two, 'etc/removed')), { major: 0, minor: 0 });
  assert.ok(!existsSync(join(two, 'etc/.wh.removed')));
  assert.equal(getfattr('trusted.overlay.opaque', join(two, 'opaque')), 'y');
  assert.ok(!existsSync(join(two, 'opaque/.wh..wh..opq')));
  assert.equal(readFileSync(join(two, 'opaque/new'), 'utf8'), 'new in layer 2\n');
  assert.equal(getfattr('trusted.overlay.opaque', join(one, 'opaque')), undefined);
  // Layer 3.
  const hello = statSync(join(three, 'app/hello.txt'));
  assert.deepEqual([hello.uid, hello.gid, hello.mode & 0o777], [1000, 1001, 0o640]);
  assert.equal(readFileSync(join(three, 'app/hello.txt'), 'utf8'), 'hello from layer 3\n');
}

function storeFiles(root: string): {
  blobs: string[];
  layers: string[];
  records: string[];
  ingest: string[];
  tmp: string[];
} {
  const list = (dir: string) => (existsSync(join(root, dir)) ? readdirSync(join(root, dir)) : []);
  return {
    blobs: list('blobs/sha256'),
    layers: list('layers/sha256'),
    records: list('images'),
    ingest: list('ingest'),
    tmp: list('layers/tmp'),
  };
}

test('pull: a 3-layer image from a registry, every layer property unpacked, records and lookups', async () => {
  const root = join(base, 'store-pull');
  const store = await ImageStore.open({ root });
  const states: string[] = [];
  const image = await store.pull(ref, { onProgress: (p) => states.push(`${p.kind}:${p.state}`) });
  assert.equal(image.name, `${registry.host}/busybox:tag`);
  assert.equal(image.id, built.config.digest);
  assert.equal(image.digest, built.manifest.digest);
  assert.deepEqual(image.repoDigests, [`${registry.host}/busybox@${built.manifest.digest}`]);
  assert.deepEqual(
    image.layers.map((l) => l.digest),
    built.layers.map((l) => l.digest),
  );
  assert.deepEqual(
    image.layers.map((l) => l.diffId),
    built.diffIds,
  );
  assert.equal(image.layers[0]!.chainId, built.diffIds[0]);
  assert.deepEqual(image.config.config?.Cmd, ['/bin/sh']);
  assert.ok(image.size >= statSync(BUSYBOX).size);
  assert.ok(states.includes('layer:verified') && states.includes('layer:unpacked'));
  checkLayers(store.layerPaths(image));
  for (const path of store.layerPaths(image))
    assert.ok(path.startsWith(join(root, 'layers/sha256/')));

  // Lookups: name (short forms normalize), id, id prefix, repo digest.
  assert.equal((await store.get(`${registry.host}/busybox:tag`)).id, image.id);
  assert.equal((await store.get(image.id)).id, image.id);
  assert.equal((await store.get(image.id.slice(7, 19))).id, image.id);
  assert.equal((await store.get(image.repoDigests[0]!)).id, image.id);
  await assert.rejects(store.get('nothing:here'), ImageNotFoundError);
  assert.deepEqual(
    (await store.list()).map((i) => i.name),
    [image.name],
  );

  // Pulled again: nothing downloaded, the same image.
  const again: string[] = [];
  const second = await store.pull(ref, { onProgress: (p) => again.push(`${p.kind}:${p.state}`) });
  assert.equal(second.id, image.id);
  assert.ok(again.filter((s) => s === 'layer:exists').length === 3, again.join());

  // In use by a container: remove refuses unless forced; prune keeps what a container names.
  const container = join(root, 'containers', 'c1');
  mkdirSync(container, { recursive: true });
  writeFileSync(
    join(container, 'berth-rootfs.json'),
    JSON.stringify({ image: image.id, layers: image.layers.map((l) => l.chainId) }),
  );
  await assert.rejects(
    store.remove(image.name),
    (err: unknown) => err instanceof ImageInUseError && err.code === 'ERR_IMAGE_IN_USE',
  );
  await store.remove(image.name, { force: true });
  await assert.rejects(store.get(image.name), ImageNotFoundError);
  const firstPrune = await store.prune();
  assert.equal(firstPrune.layers, 0, 'layers a container names stay');
  assert.ok(firstPrune.blobs >= 5, `blobs removed: ${firstPrune.blobs}`);
  assert.equal(storeFiles(root).layers.length, 3);
  rmSync(container, { recursive: true });
  const secondPrune = await store.prune();
  assert.equal(secondPrune.layers, 3);
  assert.ok(secondPrune.bytes > statSync(BUSYBOX).size);
  assert.deepEqual(storeFiles(root), { blobs: [], layers: [], records: [], ingest: [], tmp: [] });
  await assert.rejects(store.remove(image.name), ImageNotFoundError);
});

test('pull by digest, and a manifest list: linux/amd64 picked, arm64 on request, a foreign-only index refused', async () => {
  const root = join(base, 'store-index');
  const store = await ImageStore.open({ root });
  const byDigest = await store.pull(`${registry.host}/busybox@${built.manifest.digest}`);
  assert.equal(byDigest.name, '');
  assert.equal(byDigest.id, built.config.digest);
  assert.equal((await store.get(byDigest.id)).digest, built.manifest.digest);

  const multi = await buildTestIndex(join(base, 'layout-multi'), 'multi', ['amd64', 'arm64']);
  const multiRef = await pushImage(join(base, 'layout-multi'), 'multi', registry);
  const amd64 = await store.pull(multiRef);
  assert.equal(amd64.id, multi.images[0]!.config.digest);
  assert.equal(amd64.config.architecture, 'amd64');
  assert.equal(amd64.repoDigests[0], `${registry.host}/busybox@${multi.index.digest}`);
  checkLayers(store.layerPaths(amd64));
  const arm64 = await store.pull(multiRef, { platform: { os: 'linux', architecture: 'arm64' } });
  assert.equal(arm64.id, multi.images[1]!.config.digest);

  await buildTestIndex(join(base, 'layout-foreign'), 'foreign', ['arm64', 's390x']);
  const foreignRef = await pushImage(join(base, 'layout-foreign'), 'foreign', registry);
  const before = storeFiles(root);
  await assert.rejects(
    store.pull(foreignRef),
    (err: unknown) =>
      err instanceof PlatformNotFoundError &&
      err.code === 'ERR_IMAGE_PLATFORM_NOT_FOUND' &&
      /linux\/amd64/.test(err.message) &&
      err.available.join() === 'linux/arm64,linux/s390x',
  );
  assert.deepEqual(storeFiles(root), before, 'a refused platform leaves nothing');

  // A single-platform manifest for another platform is refused too.
  await buildTestImage(join(base, 'layout-arm'), 'arm', { architecture: 'arm64' });
  const armRef = await pushImage(join(base, 'layout-arm'), 'arm', registry);
  await assert.rejects(store.pull(armRef), PlatformNotFoundError);
  assert.deepEqual(storeFiles(root).records, before.records);
  rmSync(root, { recursive: true, force: true });
});

test('import: an OCI layout dir, a docker archive file and stream (skopeo-made), zstd layers', async () => {
  const root = join(base, 'store-import');
  const store = await ImageStore.open({ root });
  const fromLayout = await store.import(join(base, 'layout'), { name: 'imported/busybox:layout' });
  assert.equal(fromLayout.length, 1);
  assert.equal(fromLayout[0]!.name, 'docker.io/imported/busybox:layout');
  assert.equal(fromLayout[0]!.id, built.config.digest);
  checkLayers(store.layerPaths(fromLayout[0]!));

  const archive = join(base, 'busybox.tar');
  await toDockerArchive(join(base, 'layout'), 'tag', archive, 'busybox:archived');
  const fromArchive = await store.import(archive);
  assert.equal(fromArchive[0]!.name, 'docker.io/library/busybox:archived');
  assert.deepEqual(
    fromArchive[0]!.layers.map((l) => l.diffId),
    built.diffIds,
  );
  checkLayers(store.layerPaths(fromArchive[0]!));
  const fromStream = await store.import(createReadStream(archive), { name: 'streamed:1' });
  assert.equal(fromStream[0]!.name, 'docker.io/library/streamed:1');

  const zstdDir = join(base, 'layout-zstd');
  const zstd = await buildTestImage(zstdDir, 'z', { compression: ['zstd', 'gzip', 'zstd'] });
  const fromZstd = await store.import(zstdDir, { name: 'zstd:1' });
  assert.equal(fromZstd[0]!.id, zstd.config.digest);
  checkLayers(store.layerPaths(fromZstd[0]!));

  await assert.rejects(store.import(join(base, 'nowhere')), ImageNotFoundError);
  assert.deepEqual(storeFiles(root).ingest, [], 'import scratch dirs are removed');
  assert.equal((await store.list()).length, 4);
  rmSync(root, { recursive: true, force: true });
});
