/**
 * Bad input and failing registries: each gets its typed error, and the store
 * keeps nothing unverified (only a resumable .partial after a dropped
 * connection, which the next pull continues with a Range request).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { images } from '../../src/index.js';
import { gzipSync } from 'node:zlib';
import {
  buildTestImage,
  layerTar,
  OciLayout,
  sha256,
  tempDir,
  type BuiltImage,
  type LayerEntry,
} from '../helpers/registry.js';
import { startFakeRegistry, type Fault, type FakeRequest } from '../helpers/fake-registry.js';

const {
  ImageStore,
  ImageNotFoundError,
  RegistryError,
  RegistryAuthError,
  RegistryTimeoutError,
  DigestMismatchError,
  SizeMismatchError,
  LayerPathEscapeError,
  StoreError,
} = images;

let base: string;
let layoutDir: string;
let built: BuiltImage;

before(async () => {
  base = tempDir();
  layoutDir = join(base, 'layout');
  built = await buildTestImage(layoutDir, 'tag');
});

after(() => rmSync(base, { recursive: true, force: true }));

function list(root: string, dir: string): string[] {
  return existsSync(join(root, dir)) ? readdirSync(join(root, dir)) : [];
}

/**
 * Nothing unverified and no image: no record, no half-unpacked layer, no layer of the failed blob
 * (layers[0]); other layers, when there, are complete (verified, kept for the next pull until
 * prune); ingest holds at most `partials`.
 */
function assertNothingHalfMade(root: string, partials: string[] = []): void {
  assert.deepEqual(list(root, 'images'), [], 'no image record');
  const failedLayer = built.diffIds[0]!.slice(7);
  for (const layer of list(root, 'layers/sha256')) {
    assert.notEqual(layer, failedLayer, 'no layer of the failed blob');
    assert.ok(
      existsSync(join(root, 'layers/sha256', layer, 'layer.json')),
      `layer ${layer} is complete`,
    );
  }
  assert.deepEqual(list(root, 'layers/tmp'), [], 'no half-unpacked layer');
  assert.deepEqual(
    list(root, 'ingest').sort(),
    partials.map((d) => `${d.slice(7)}.partial`).sort(),
  );
}

let stores = 0;
async function pullThrough(
  fault: (request: FakeRequest, count: number) => Fault | undefined,
  opts: images.PullOptions = {},
  root = join(base, `store-${++stores}`),
): Promise<{ root: string; error: unknown; requests: FakeRequest[] }> {
  const registry = await startFakeRegistry(layoutDir, 'tag', fault);
  try {
    const store = await ImageStore.open({ root });
    const error = await store.pull(`${registry.host}/busybox:tag`, opts).then(
      () => undefined,
      (err: unknown) => err,
    );
    return { root, error, requests: registry.requests };
  } finally {
    await registry.stop();
  }
}

const bigLayer = () => built.layers[0]!;

test('registry answers 404, 500 and 401: typed errors naming the URL, nothing kept', async () => {
  const notFound = await pullThrough((r) =>
    r.kind === 'manifest' ? { kind: 'status', status: 404 } : undefined,
  );
  assert.ok(notFound.error instanceof ImageNotFoundError, String(notFound.error));
  assert.match(
    (notFound.error as Error).message,
    /busybox:tag.*404.*\/v2\/busybox\/manifests\/tag/,
  );
  assertNothingHalfMade(notFound.root);

  const failing = await pullThrough((r) =>
    r.kind === 'blob' ? { kind: 'status', status: 500 } : undefined,
  );
  assert.ok(failing.error instanceof RegistryError);
  assert.equal((failing.error as InstanceType<typeof RegistryError>).status, 500);
  assert.match(
    (failing.error as InstanceType<typeof RegistryError>).url,
    /\/v2\/busybox\/blobs\/sha256:/,
  );
  assert.equal((failing.error as InstanceType<typeof RegistryError>).code, 'ERR_IMAGE_REGISTRY');
  assertNothingHalfMade(failing.root);

  const noChallenge = await pullThrough(() => ({ kind: 'status', status: 401 }));
  assert.ok(noChallenge.error instanceof RegistryAuthError, String(noChallenge.error));
  assert.equal(
    (noChallenge.error as InstanceType<typeof RegistryAuthError>).code,
    'ERR_IMAGE_REGISTRY_AUTH',
  );
  assertNothingHalfMade(noChallenge.root);

  // A bearer challenge whose token server refuses.
  const refusing = await startFakeRegistry(layoutDir, 'tag', () => ({
    kind: 'status',
    status: 401,
  }));
  try {
    const challenged = await pullThrough(
      () => ({
        kind: 'status',
        status: 401,
        headers: {
          'www-authenticate': `Bearer realm="http://${refusing.host}/token",service="fake",scope="repository:busybox:pull"`,
        },
      }),
      { auth: { username: 'u', password: 'wrong' } },
    );
    assert.ok(challenged.error instanceof RegistryAuthError, String(challenged.error));
    assert.match((challenged.error as Error).message, /token server refused \(401\)/);
    assert.ok(refusing.requests.some((r) => r.path === '/token'));
  } finally {
    await refusing.stop();
  }
});

test("a registry that hangs: bounded by the timeout and by the caller's AbortSignal", async () => {
  const started = Date.now();
  const hung = await pullThrough((r) => (r.kind === 'manifest' ? { kind: 'hang' } : undefined), {
    timeoutMs: 300,
  });
  assert.ok(hung.error instanceof RegistryTimeoutError, String(hung.error));
  assert.equal(
    (hung.error as InstanceType<typeof RegistryTimeoutError>).code,
    'ERR_IMAGE_REGISTRY_TIMEOUT',
  );
  assert.ok(Date.now() - started < 5000);
  assertNothingHalfMade(hung.root);

  // Hangs mid-blob: the limit is between chunks too.
  const midBlob = await pullThrough(
    (r) => (r.digest === bigLayer().digest ? { kind: 'drop', after: 0 } : undefined),
    { timeoutMs: 300 },
  );
  assert.ok(midBlob.error instanceof RegistryError, String(midBlob.error));

  const controller = new AbortController();
  const reason = new Error('caller gave up');
  setTimeout(() => controller.abort(reason), 200);
  const abortStarted = Date.now();
  const aborted = await pullThrough((r) => (r.kind === 'blob' ? { kind: 'hang' } : undefined), {
    signal: controller.signal,
    timeoutMs: 60_000,
  });
  assert.equal(aborted.error, reason);
  assert.ok(Date.now() - abortStarted < 5000);
  assert.deepEqual(list(aborted.root, 'images'), []);
  assert.deepEqual(list(aborted.root, 'layers/tmp'), []);
});

test('a connection dropped mid-blob leaves a .partial that the next pull resumes with a Range request', async () => {
  const layer = bigLayer();
  const half = Math.floor(layer.size / 2);
  const dropped = await pullThrough((r) =>
    r.digest === layer.digest ? { kind: 'drop', after: half } : undefined,
  );
  assert.ok(dropped.error instanceof RegistryError, String(dropped.error));
  assert.equal((dropped.error as InstanceType<typeof RegistryError>).status, 0);
  assertNothingHalfMade(dropped.root, [layer.digest]);
  assert.ok(!existsSync(join(dropped.root, 'blobs/sha256', layer.digest.slice(7))));
  const partialSize = statSync(
    join(dropped.root, 'ingest', `${layer.digest.slice(7)}.partial`),
  ).size;
  assert.ok(partialSize > 0 && partialSize <= half, `partial of ${partialSize} bytes`);

  const states: string[] = [];
  const resumed = await pullThrough(
    () => undefined,
    { onProgress: (p: images.PullProgress) => p.digest === layer.digest && states.push(p.state) },
    dropped.root,
  );
  assert.equal(resumed.error, undefined);
  const ranges = resumed.requests.filter((r) => r.digest === layer.digest).map((r) => r.range);
  assert.deepEqual(ranges, [`bytes=${partialSize}-`]);
  assert.ok(states.includes('resumed'));
  assert.deepEqual(list(dropped.root, 'ingest'), []);
  assert.equal(list(dropped.root, 'images').length, 1);

  // A registry that ignores the Range: the .partial is dropped and the blob fetched whole.
  const again = await pullThrough((r) =>
    r.digest === layer.digest ? { kind: 'drop', after: half } : undefined,
  );
  assertNothingHalfMade(again.root, [layer.digest]);
  const whole = await pullThrough(
    (r) => (r.digest === layer.digest ? { kind: 'ignore-range' } : undefined),
    {},
    again.root,
  );
  assert.equal(whole.error, undefined);
  const asked = whole.requests.filter((r) => r.digest === layer.digest).map((r) => r.range);
  assert.deepEqual(asked, [asked[0], undefined]);
  assert.match(asked[0] ?? '', /^bytes=\d+-$/);
  assert.deepEqual(list(again.root, 'ingest'), []);
  assert.equal(list(again.root, 'images').length, 1);
});

test('wrong digest, truncated blob, corrupt config: typed errors, no blob or partial kept', async () => {
  const layer = bigLayer();
  const wrong = await pullThrough((r) =>
    r.digest === layer.digest ? { kind: 'wrong' } : undefined,
  );
  assert.ok(wrong.error instanceof DigestMismatchError, String(wrong.error));
  assert.equal((wrong.error as InstanceType<typeof DigestMismatchError>).expected, layer.digest);
  assertNothingHalfMade(wrong.root);
  assert.ok(!existsSync(join(wrong.root, 'blobs/sha256', layer.digest.slice(7))));

  const truncated = await pullThrough((r) =>
    r.digest === layer.digest ? { kind: 'truncate', bytes: 1000 } : undefined,
  );
  assert.ok(truncated.error instanceof SizeMismatchError, String(truncated.error));
  assert.deepEqual(
    [
      (truncated.error as InstanceType<typeof SizeMismatchError>).expected,
      (truncated.error as InstanceType<typeof SizeMismatchError>).actual,
    ],
    [layer.size, 1000],
  );
  assertNothingHalfMade(truncated.root);

  const config = await pullThrough((r) =>
    r.digest === built.config.digest ? { kind: 'wrong' } : undefined,
  );
  assert.ok(config.error instanceof DigestMismatchError, String(config.error));
  assertNothingHalfMade(config.root);
  assert.deepEqual(list(config.root, 'blobs/sha256'), []);

  const manifest = await pullThrough((r) =>
    r.kind === 'manifest' ? { kind: 'truncate', bytes: 10 } : undefined,
  );
  assert.ok(manifest.error instanceof images.ImageError, String(manifest.error));
  assertNothingHalfMade(manifest.root);
});

/** The hostile layers, aimed at `outside` (where nothing may ever be written). */
const hostileLayers = (outside: string): [string, LayerEntry[]][] => [
  ['dotdot', [{ name: `../../../../../../..${outside}/dotdot`, data: 'x' }]],
  [
    'symlink',
    [
      { name: 'esc', type: 'symlink', linkname: outside },
      { name: 'esc/through-symlink', data: 'x' },
    ],
  ],
  [
    'relative-symlink',
    [
      { name: 'esc', type: 'symlink', linkname: '../../../../../../../../..' },
      { name: 'esc/tmp/x', data: 'x' },
    ],
  ],
  ['hardlink-dotdot', [{ name: 'passwd', type: 'link', linkname: '../../../../../../etc/passwd' }]],
  ['hardlink-absent', [{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }]],
  [
    'hardlink-through-symlink',
    [
      { name: 'etc', type: 'symlink', linkname: '/etc' },
      { name: 'passwd', type: 'link', linkname: 'etc/passwd' },
    ],
  ],
];

for (const [name] of hostileLayers('/outside'))
  test(`hostile layer ${name}: refused, nothing written outside, nothing half-made`, async () => {
    const outside = join(base, 'outside');
    mkdirSync(outside, { recursive: true });
    const [, entries] = hostileLayers(outside).find(([n]) => n === name)!;
    const dir = join(base, `hostile-${name}`);
    const image = await buildTestImage(dir, 'tag', {
      layers: [[{ name: 'ok', data: 'fine' }], entries],
    });
    const root = join(base, `store-hostile-${name}`);
    const store = await ImageStore.open({ root });
    await assert.rejects(
      store.import(dir, { name: 'hostile:1' }),
      (err: unknown) =>
        err instanceof LayerPathEscapeError && err.code === 'ERR_IMAGE_LAYER_PATH_ESCAPE',
      name,
    );
    assert.deepEqual(readdirSync(outside), [], `${name}: nothing outside`);
    assert.deepEqual(list(root, 'images'), [], name);
    assert.deepEqual(list(root, 'layers/tmp'), [], name);
    assert.ok(
      !existsSync(join(root, 'blobs/sha256', image.layers[1]!.digest.slice(7))),
      `${name}: hostile blob removed`,
    );
    // The good layer below it is complete and verified: kept for the next pull, until prune.
    assert.ok(list(root, 'layers/sha256').length <= 1);
    await store.prune();
    assert.deepEqual(list(root, 'layers/sha256'), []);
  });

test('a full disk (ENOSPC on a small tmpfs store): StoreError naming the path, nothing half-made', async (t) => {
  const root = join(base, 'tmpfs');
  mkdirSync(root);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', root]);
  } catch (err) {
    t.skip(`cannot mount a tmpfs here: ${(err as Error).message}`);
    return;
  }
  try {
    const full = await pullThrough(() => undefined, {}, root);
    assert.ok(full.error instanceof StoreError, String(full.error));
    assert.equal((full.error as InstanceType<typeof StoreError>).errno, 'ENOSPC');
    assert.match((full.error as Error).message, /no space left on device/);
    assert.ok((full.error as InstanceType<typeof StoreError>).path.startsWith(root));
    assertNothingHalfMade(root);
  } finally {
    try {
      execFileSync('umount', [root]);
    } catch {
      // Still busy: detach it now, the kernel frees it when the last file closes.
      execFileSync('umount', ['-l', root]);
    }
  }
});

const badLayerCases: [
  string,
  (good: Buffer) => { blob: Buffer; diffId: string },
  (err: unknown) => boolean,
][] = [
  [
    'corrupt-gzip',
    (good) => ({
      blob: Buffer.concat([gzipSync(good).subarray(0, 200), Buffer.alloc(300, 7)]),
      diffId: sha256(good),
    }),
    (err) => err instanceof images.InvalidImageError && err.code === 'ERR_IMAGE_INVALID',
  ],
  [
    'wrong-diff-id',
    (good) => ({ blob: gzipSync(good), diffId: sha256('something else') }),
    (err) =>
      err instanceof DigestMismatchError && /uncompressed layer/.test((err as Error).message),
  ],
];

for (const [name, make, expected] of badLayerCases)
  test(`a layer that is ${name}: a typed error, no layer, the blob dropped`, async () => {
    const dir = join(base, `layout-${name}`);
    const layout = new OciLayout(dir);
    const { blob, diffId } = make(
      await layerTar([{ name: 'file', data: Buffer.alloc(100_000, 1) }]),
    );
    const layer = layout.addBlob(blob, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const config = layout.addBlob(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [diffId] },
      }),
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = layout.addBlob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: [layer],
      }),
      'application/vnd.oci.image.manifest.v1+json',
    );
    layout.writeIndex([manifest]);
    const root = join(base, `store-${name}`);
    const store = await ImageStore.open({ root });
    await assert.rejects(store.import(dir, { name: `${name}:1` }), expected, name);
    assert.deepEqual(list(root, 'images'), [], name);
    assert.deepEqual(list(root, 'layers/sha256'), [], name);
    assert.deepEqual(list(root, 'layers/tmp'), [], name);
    assert.ok(
      !existsSync(join(root, 'blobs/sha256', layer.digest.slice(7))),
      `${name}: the bad blob is dropped`,
    );
  });
