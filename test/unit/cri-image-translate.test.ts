/** The CRI's view of berth's images: names grouped by id, users, credentials, error statuses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import {
  credentialsFor,
  groupById,
  imageStatusFromError,
  imageUser,
  requestedImage,
  toCriImage,
  verboseInfo,
} from '../../src/cri/image-translate.js';
import type { AuthConfig } from '../../src/cri/generated/api.js';
import {
  ImageNotFoundError,
  InvalidReferenceError,
  RegistryAuthError,
  RegistryError,
  RegistryTimeoutError,
  StoreError,
  DigestMismatchError,
  ImageInUseError,
} from '../../src/images/index.js';
import type { Image } from '../../src/images/types.js';
import { InvalidArgumentError } from '../../src/runtime/index.js';

const ID = `sha256:${'a'.repeat(64)}`;
const DIGEST = `sha256:${'b'.repeat(64)}`;

function image(name: string, user?: string, id = ID): Image {
  return {
    name,
    id,
    digest: DIGEST,
    repoDigests: name ? [`${name.replace(/(:[\w.-]+|@.*)$/, '')}@${DIGEST}`] : [],
    size: 4096,
    config: {
      architecture: 'amd64',
      os: 'linux',
      config: user === undefined ? {} : { User: user },
      rootfs: { type: 'layers', diff_ids: [] },
    },
    layers: [{ digest: DIGEST, diffId: DIGEST, chainId: DIGEST, size: 10, mediaType: 'x' }],
  };
}

function auth(fields: Partial<AuthConfig>): AuthConfig {
  return {
    username: '',
    password: '',
    auth: '',
    serverAddress: '',
    identityToken: '',
    registryToken: '',
    ...fields,
  };
}

for (const [what, spec] of [
  ['a missing spec', undefined],
  ['an empty image', { image: '', annotations: {} }],
  ['a blank image', { image: '  ', annotations: {} }],
] as const)
  test(`requestedImage: ${what} is INVALID_ARGUMENT naming the RPC`, () => {
    assert.throws(
      () => requestedImage('PullImage', spec),
      (err: unknown) =>
        err instanceof InvalidArgumentError && /^PullImage: image spec must name/.test(err.message),
    );
  });

test('requestedImage: a NUL is refused; a name is taken as it is', () => {
  assert.throws(
    () => requestedImage('X', { image: 'a\0b', annotations: {} }),
    InvalidArgumentError,
  );
  assert.equal(requestedImage('X', { image: 'busybox', annotations: {} }), 'busybox');
});

test("imageUser: containerd's reading of the config's User", () => {
  assert.deepEqual(imageUser(undefined), { username: '' });
  assert.deepEqual(imageUser(''), { username: '' });
  assert.deepEqual(imageUser('0'), { uid: 0n, username: '' });
  assert.deepEqual(imageUser('1000:1001'), { uid: 1000n, username: '' });
  assert.deepEqual(imageUser('nobody'), { username: 'nobody' });
  assert.deepEqual(imageUser('www-data:www-data'), { username: 'www-data' });
  assert.deepEqual(imageUser('99999999999999999999'), { username: '99999999999999999999' });
});

test('toCriImage: one image per id with all its tags and digests; by-digest names are no tags', () => {
  const records = [
    image('127.0.0.1:5000/busybox:b', '1000'),
    image('127.0.0.1:5000/busybox:a', '1000'),
    image(`127.0.0.1:5000/busybox@${DIGEST}`, '1000'),
    image('docker.io/library/other:latest', undefined, `sha256:${'c'.repeat(64)}`),
  ];
  const groups = groupById(records);
  assert.equal(groups.length, 2);
  const cri = toCriImage(groups[0]!);
  assert.deepEqual(cri, {
    id: ID,
    repoTags: ['127.0.0.1:5000/busybox:a', '127.0.0.1:5000/busybox:b'],
    repoDigests: [`127.0.0.1:5000/busybox@${DIGEST}`],
    size: 4096n,
    uid: { value: 1000n },
    username: '',
    spec: { image: ID, annotations: {} },
    pinned: false,
  });
  const other = toCriImage(groups[1]!);
  assert.equal(other.uid, undefined);
  assert.deepEqual(other.repoTags, ['docker.io/library/other:latest']);
  assert.throws(() => toCriImage([]), RangeError);
  const info = JSON.parse(verboseInfo(groups[0]!).info!) as { id: string; imageSpec: unknown };
  assert.equal(info.id, ID);
  assert.deepEqual(info.imageSpec, records[0]!.config);
});

test('credentialsFor: username/password, auth, identity token; none for another registry', () => {
  const ref = '127.0.0.1:5000/busybox:t';
  assert.equal(credentialsFor(ref, undefined), undefined);
  assert.equal(credentialsFor(ref, auth({})), undefined);
  assert.deepEqual(credentialsFor(ref, auth({ username: 'u', password: 'p' })), {
    username: 'u',
    password: 'p',
  });
  assert.deepEqual(
    credentialsFor(ref, auth({ auth: Buffer.from('u:p:with:colons').toString('base64') })),
    { username: 'u', password: 'p:with:colons' },
  );
  assert.deepEqual(credentialsFor(ref, auth({ identityToken: 'tok' })), { identityToken: 'tok' });
  assert.deepEqual(
    credentialsFor(
      ref,
      auth({ username: 'u', password: 'p', serverAddress: 'http://127.0.0.1:5000/v2/' }),
    ),
    { username: 'u', password: 'p' },
  );
  // Credentials meant for another registry are not sent to this one.
  assert.equal(
    credentialsFor(ref, auth({ username: 'u', password: 'p', serverAddress: 'evil.example:5000' })),
    undefined,
  );
  assert.deepEqual(
    credentialsFor(
      'busybox',
      auth({ username: 'u', password: 'p', serverAddress: 'https://index.docker.io/v1/' }),
    ),
    { username: 'u', password: 'p' },
  );
  assert.throws(
    () => credentialsFor(ref, auth({ auth: Buffer.from('nocolon').toString('base64') })),
    (err: unknown) =>
      err instanceof InvalidArgumentError && /auth.auth must be base64/.test(err.message),
  );
  // registry_token: a bearer token sent as it is; it wins over credentials to exchange.
  assert.deepEqual(credentialsFor(ref, auth({ registryToken: 'tok' })), { registryToken: 'tok' });
  assert.deepEqual(
    credentialsFor(ref, auth({ registryToken: 'tok', username: 'u', password: 'p' })),
    { registryToken: 'tok' },
  );
});

const imageErrorCases: [Error, status][] = [
  [new InvalidReferenceError('A', 'bad'), status.INVALID_ARGUMENT],
  [new InvalidArgumentError('empty'), status.INVALID_ARGUMENT],
  [new ImageNotFoundError('x'), status.NOT_FOUND],
  [new RegistryAuthError('refused (401)', 401, 'http://r'), status.UNAUTHENTICATED],
  [new RegistryAuthError('refused (403)', 403, 'http://r'), status.PERMISSION_DENIED],
  [new RegistryError('connection refused', 0, 'http://r'), status.UNAVAILABLE],
  [new RegistryTimeoutError('http://r', 5), status.DEADLINE_EXCEEDED],
  [new DigestMismatchError('a', 'b', 'layer'), status.DATA_LOSS],
  [new ImageInUseError('x', ['c1']), status.FAILED_PRECONDITION],
  [
    new StoreError('full', '/s', { cause: Object.assign(new Error('x'), { code: 'ENOSPC' }) }),
    status.RESOURCE_EXHAUSTED,
  ],
  [new StoreError('denied', '/s'), status.INTERNAL],
  [Object.assign(new Error('aborted'), { name: 'AbortError' }), status.CANCELLED],
  [new Error('surprise'), status.INTERNAL],
];
for (const [err, code] of imageErrorCases)
  test(`imageStatusFromError: ${err.constructor.name} "${err.message}" is ${status[code]}, its message kept`, () => {
    const result = imageStatusFromError(err);
    assert.equal(result.code, code);
    assert.equal(result.details, err.message);
  });
