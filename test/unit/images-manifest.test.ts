import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { images } from '../../src/index.js';
import { parseChallenge } from '../../src/images/auth.js';
import { chainIds } from '../../src/images/layers.js';
import { parseConfig, parseManifest, selectPlatform } from '../../src/images/manifest.js';
import { isInsecure } from '../../src/images/registry.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

test('WWW-Authenticate challenges: quoted, unquoted, escaped', () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
    ),
    {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'registry.example',
        scope: 'repository:a/b:pull,push',
      },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm=registry'), {
    scheme: 'basic',
    params: { realm: 'registry' },
  });
  assert.equal(parseChallenge('Bearer realm="a\\"b"')?.params.realm, 'a"b');
});

test('chain ids follow the image spec', () => {
  const [a, b] = [digest('a'), digest('b')];
  const chain = chainIds([a, b]);
  assert.equal(chain[0], a);
  assert.equal(chain[1], `sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`);
  assert.match(chain[1]!, /^sha256:[a-f0-9]{64}$/);
  assert.notEqual(chain[1], b);
  assert.deepEqual(chainIds([a, b]), chain, 'deterministic');
});

test('manifests: schema 1 and foreign media types refused, indexes and platforms', () => {
  assert.throws(
    () => parseManifest(bytes({ schemaVersion: 1 }), 'm'),
    images.UnsupportedMediaTypeError,
  );
  assert.throws(() => parseManifest(Buffer.from('{'), 'm'), images.InvalidImageError);
  assert.throws(
    () =>
      parseManifest(
        bytes({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: digest('c'),
            size: 2,
          },
          layers: [{ mediaType: 'application/x-unknown', digest: digest('d'), size: 1 }],
        }),
        'm',
      ),
    images.UnsupportedMediaTypeError,
  );
  assert.throws(
    () =>
      parseManifest(
        bytes({ schemaVersion: 2, config: { digest: '../../etc', size: 1 }, layers: [] }),
        'm',
      ),
    images.InvalidImageError,
  );
  const index = parseManifest(
    bytes({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [
        {
          digest: digest('1'),
          size: 1,
          platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        },
        { digest: digest('2'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { digest: digest('3'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    }),
    'i',
  );
  assert.equal(index.kind, 'index');
  if (index.kind !== 'index') return;
  assert.equal(
    selectPlatform(index, { os: 'linux', architecture: 'amd64' }, 'r').digest,
    digest('2'),
  );
  assert.equal(
    selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'r').digest,
    digest('1'),
  );
  assert.throws(
    () => selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v6' }, 'r'),
    (err: unknown) =>
      err instanceof images.PlatformNotFoundError && err.available.includes('linux/arm/v7'),
  );
});

test('configs: diff ids must be sha256 and one per layer', () => {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [digest('a')] },
  };
  assert.equal(parseConfig(bytes(config), 1, 'c').rootfs.diff_ids.length, 1);
  assert.throws(() => parseConfig(bytes(config), 2, 'c'), images.InvalidImageError);
  assert.throws(
    () =>
      parseConfig(bytes({ ...config, rootfs: { type: 'layers', diff_ids: ['md5:x'] } }), 1, 'c'),
    images.InvalidImageError,
  );
});

test('plain HTTP only for loopback and registries named insecure', () => {
  assert.equal(isInsecure('127.0.0.1:5000'), true);
  assert.equal(isInsecure('127.8.9.10'), true);
  assert.equal(isInsecure('localhost:5000'), true);
  assert.equal(isInsecure('[::1]:5000'), true);
  assert.equal(isInsecure('128.0.0.1:5000'), false);
  assert.equal(isInsecure('127.0.0.1.nip.io'), false);
  assert.equal(isInsecure('registry.lan:5000'), false);
  assert.equal(isInsecure('registry.lan:5000', ['registry.lan:5000']), true);
});
