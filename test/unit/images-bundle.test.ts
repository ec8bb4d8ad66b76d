/** The pure parts of running an image: docker's user rules, Entrypoint + Cmd, env merging, the overlay's options. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { imageArgs, mergeEnvironment } from '../../src/images/bundle.js';
import { StoreError } from '../../src/images/errors.js';
import { overlayMount } from '../../src/images/rootfs.js';
import { resolveUserFrom } from '../../src/images/user.js';
import {
  ImageNoCommandError,
  ImageUserNotFoundError,
  InvalidOverrideError,
  TooManyLayersError,
} from '../../src/images/use-errors.js';

const passwd =
  'root:x:0:0:root:/root:/bin/sh\n# a comment\napp:x:1000:1001:App:/home/app:/bin/sh\nbad:x:-1:0::/:\n';
const group = 'root:x:0:\napp:x:1001:\nwheel:x:10:app,other\nstaff:x:50:other\n';

describe('resolveUserFrom (runc GetExecUser rules)', () => {
  test('a name: its uid, primary gid, home, and the groups listing it', () => {
    assert.deepEqual(resolveUserFrom('app', passwd, group), {
      uid: 1000,
      gid: 1001,
      additionalGids: [1001, 10],
      home: '/home/app',
    });
  });
  test('empty is root; a number in passwd takes its entry, one not in it gid 0', () => {
    assert.deepEqual(resolveUserFrom('', passwd, group), {
      uid: 0,
      gid: 0,
      additionalGids: [0],
      home: '/root',
    });
    assert.equal(resolveUserFrom('1000', passwd, group).gid, 1001);
    assert.deepEqual(resolveUserFrom('77', passwd, group), {
      uid: 77,
      gid: 0,
      additionalGids: [0],
      home: '/',
    });
    assert.deepEqual(resolveUserFrom('77', undefined, undefined).uid, 77);
  });
  test('an explicit group (name or number) sets the gid and no member groups', () => {
    assert.deepEqual(resolveUserFrom('app:staff', passwd, group).additionalGids, [50]);
    assert.equal(resolveUserFrom('app:4000', passwd, group).gid, 4000);
  });
  // Names the files lack, malformed and out-of-range specs.
  for (const spec of ['ghost', 'app:ghosts', ':10', 'app:', '99999999999'])
    test(`user ${JSON.stringify(spec)} is a typed error`, () => {
      assert.throws(() => resolveUserFrom(spec, passwd, group), ImageUserNotFoundError, spec);
    });
});

describe('imageArgs (docker run rules)', () => {
  const image = { config: { Entrypoint: ['/entry'], Cmd: ['default'] } };
  test('Entrypoint + Cmd; args replace Cmd; --entrypoint drops Cmd unless args', () => {
    assert.deepEqual(imageArgs('i', image, {}), ['/entry', 'default']);
    assert.deepEqual(imageArgs('i', image, { args: ['x'] }), ['/entry', 'x']);
    assert.deepEqual(imageArgs('i', image, { entrypoint: ['sh'] }), ['sh']);
    assert.deepEqual(imageArgs('i', image, { entrypoint: [''], args: ['ls'] }), ['ls']);
  });
  test('nothing to run is ImageNoCommandError', () => {
    assert.throws(() => imageArgs('i', { config: { Cmd: null } }, {}), ImageNoCommandError);
  });
});

describe('mergeEnvironment', () => {
  test('replaces a KEY in place, appends new ones, refuses an entry without a name', () => {
    assert.deepEqual(mergeEnvironment(['A=1', 'B=2'], ['B=3', 'C=4']), ['A=1', 'B=3', 'C=4']);
    assert.throws(() => mergeEnvironment([], ['=x']), InvalidOverrideError);
    assert.throws(() => mergeEnvironment([], ['NOEQUALS']), InvalidOverrideError);
  });
});

describe('overlayMount', () => {
  const root = '/var/lib/berth';
  const layer = (i: number) => `${root}/layers/sha256/${i.toString(16).padStart(64, '0')}/fs`;
  test('lowerdirs top first, relative to the layers folder; upper and work in the container folder', () => {
    const mount = overlayMount(root, [layer(1), layer(2)], `${root}/containers/c1`);
    assert.equal(mount.cwd, `${root}/layers`);
    assert.deepEqual(mount.options, [
      `lowerdir=sha256/${layer(2).split('/sha256/')[1]}:sha256/${layer(1).split('/sha256/')[1]}`,
      `upperdir=${root}/containers/c1/upper`,
      `workdir=${root}/containers/c1/work`,
    ]);
  });
  test('50 layers fit in one page; 100 do not (TooManyLayersError); a comma in a path is refused', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => layer(i));
    assert.ok(
      overlayMount(root, many(50), `${root}/containers/c1`).options.join(',').length < 4096,
    );
    assert.throws(() => overlayMount(root, many(100), `${root}/containers/c1`), TooManyLayersError);
    assert.throws(() => overlayMount('/srv/a,b', [layer(1)], '/srv/a,b/containers/c1'), StoreError);
  });
});
