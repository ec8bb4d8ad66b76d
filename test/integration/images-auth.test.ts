/**
 * Token auth as registries do it: docker-registry with `auth: token`, a test
 * token server (basic credentials in, RS256 JWT with x5c out). berth answers
 * the WWW-Authenticate challenge with passed-in credentials or with those of
 * a docker config file ($DOCKER_CONFIG/config.json).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { images } from '../../src/index.js';
import {
  buildTestImage,
  pushImage,
  startRegistry,
  tempDir,
  type BuiltImage,
  type Registry,
} from '../helpers/registry.js';

const { ImageStore, RegistryAuthError } = images;
const credentials = { username: 'berth', password: 's3cret' };

let registry: Registry;
let base: string;
let built: BuiltImage;
let ref: string;

before(async () => {
  base = tempDir();
  registry = await startRegistry({ auth: credentials });
  built = await buildTestImage(join(base, 'layout'), 'tag');
  ref = await pushImage(join(base, 'layout'), 'tag', registry);
});

after(async () => {
  await registry?.stop();
  rmSync(base, { recursive: true, force: true });
});

test('the registry wants a token: without credentials, or with wrong ones, RegistryAuthError and nothing kept', async () => {
  const unauthenticated = await fetch(`http://${registry.host}/v2/busybox/manifests/tag`);
  assert.equal(unauthenticated.status, 401, 'the registry really is behind token auth');
  assert.match(unauthenticated.headers.get('www-authenticate') ?? '', /^Bearer realm=/);

  const root = join(base, 'store-refused');
  const store = await ImageStore.open({ root });
  const savedConfig = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = join(base, 'no-docker-config');
  try {
    await assert.rejects(
      store.pull(ref),
      (err: unknown) => err instanceof RegistryAuthError && err.status === 401,
    );
    const refusedBefore = registry.tokenRequests.refused;
    await assert.rejects(
      store.pull(ref, { auth: { username: 'berth', password: 'wrong' } }),
      (err: unknown) =>
        err instanceof RegistryAuthError && /token server refused \(401\)/.test(err.message),
    );
    assert.ok(registry.tokenRequests.refused > refusedBefore);
  } finally {
    if (savedConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedConfig;
  }
  assert.deepEqual(await store.list(), []);
});

test('pull with passed-in credentials, and with a docker config file', async () => {
  const store = await ImageStore.open({ root: join(base, 'store-auth') });
  const okBefore = registry.tokenRequests.ok;
  const image = await store.pull(ref, { auth: credentials });
  assert.equal(image.id, built.config.digest);
  assert.ok(registry.tokenRequests.ok > okBefore, 'a token was fetched');

  const configDir = join(base, 'docker-config');
  mkdirSync(configDir);
  writeFileSync(
    join(configDir, 'config.json'),
    JSON.stringify({
      auths: {
        [registry.host]: {
          auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64'),
        },
      },
    }),
  );
  const savedConfig = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = configDir;
  try {
    const other = await ImageStore.open({ root: join(base, 'store-config') });
    const fromConfig = await other.pull(ref);
    assert.equal(fromConfig.id, built.config.digest);
    assert.equal(fromConfig.layers.length, 3);
  } finally {
    if (savedConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedConfig;
  }
});
