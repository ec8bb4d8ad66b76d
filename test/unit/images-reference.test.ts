import { test } from 'node:test';
import assert from 'node:assert/strict';
import { images } from '../../src/index.js';

const { parseReference, InvalidReferenceError } = images;

// docker normalization: official images, user repos, registries, digests.
const normalizations: [string, string][] = [
  ['busybox', 'docker.io/library/busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['index.docker.io/busybox', 'docker.io/library/busybox:latest'],
  ['user/app', 'docker.io/user/app:latest'],
  ['localhost/app:v1', 'localhost/app:v1'],
  ['127.0.0.1:5000/busybox:tag', '127.0.0.1:5000/busybox:tag'],
  ['quay.io/a/b/c:1.0-rc_1', 'quay.io/a/b/c:1.0-rc_1'],
  [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
  [`x:tag@sha256:${'b'.repeat(64)}`, `docker.io/library/x:tag@sha256:${'b'.repeat(64)}`],
];
for (const [input, normalized] of normalizations)
  test(`${input} normalizes to ${normalized}`, () => {
    assert.equal(parseReference(input).normalized, normalized, input);
  });

test("a reference's parts: domain, path, repository, tag", () => {
  const ref = parseReference('127.0.0.1:5000/ns/busybox:tag');
  assert.deepEqual(
    { domain: ref.domain, path: ref.path, repository: ref.repository, tag: ref.tag },
    {
      domain: '127.0.0.1:5000',
      path: 'ns/busybox',
      repository: '127.0.0.1:5000/ns/busybox',
      tag: 'tag',
    },
  );
});

// Bad references get InvalidReferenceError with a stable code.
for (const bad of [
  '',
  'Busybox',
  'busybox:',
  'busybox:-bad',
  'a//b',
  'busybox@sha256:abc',
  `busybox@md5:${'a'.repeat(32)}`,
  'a'.repeat(64),
  'host:port:x/y',
  '../etc',
  `a/${'b'.repeat(260)}`,
])
  test(`bad reference ${JSON.stringify(bad.length > 40 ? `${bad.slice(0, 40)}…` : bad)}: InvalidReferenceError`, () => {
    assert.throws(
      () => parseReference(bad),
      (err: unknown) =>
        err instanceof InvalidReferenceError && err.code === 'ERR_IMAGE_INVALID_REFERENCE',
      JSON.stringify(bad),
    );
  });
