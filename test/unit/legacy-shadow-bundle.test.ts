/** Shadow bundles on disk: the converted copy beside, never over, the client's bundle. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'lossless-json';
import { BundleNotFoundError, InvalidBundleConfigError } from '../../src/index.js';
import {
  SHADOW_BUNDLES_DIR,
  prepareBundle,
  removeShadowBundle,
  shadowBundleDir,
} from '../../src/supervisor/shadow-bundle.js';

const base = mkdtempSync(join(tmpdir(), 'berth-legacy-unit-'));
after(() => rmSync(base, { recursive: true, force: true }));

let bundles = 0;
function bundleWith(config: string): string {
  const dir = join(base, `bundle-${++bundles}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), config);
  return dir;
}

const OLD = JSON.stringify({
  process: { args: ['true'], capabilities: ['CAP_KILL'] },
  root: { path: 'rootfs' },
});
const NEW = JSON.stringify({
  process: { args: ['true'], capabilities: { bounding: ['CAP_KILL'] } },
  root: { path: 'rootfs' },
});

describe('prepareBundle', () => {
  test('an old config: converted copy in the shadow folder, root.path at the client rootfs', () => {
    const bundle = bundleWith(OLD);
    const state = join(base, 'state-1');
    const shadow = shadowBundleDir(state, 'web');
    assert.equal(shadow, join(state, SHADOW_BUNDLES_DIR, 'web'));
    const prepared = prepareBundle(bundle, shadow);
    assert.equal(prepared.path, shadow);
    assert.equal(prepared.changes.length, 2);
    const config = parse(readFileSync(join(shadow, 'config.json'), 'utf8')) as {
      root: { path: string };
      process: { capabilities: unknown };
    };
    assert.equal(config.root.path, join(bundle, 'rootfs'));
    assert.deepEqual(Object.keys(config.process.capabilities as object), [
      'bounding',
      'effective',
      'inheritable',
      'permitted',
    ]);
    // Only the config, owner-only (its environment may carry secrets), no temporary file left.
    assert.deepEqual(readdirSync(shadow), ['config.json']);
    assert.equal(statSync(join(shadow, 'config.json')).mode & 0o777, 0o600);
    // The client's bundle is as it was.
    assert.equal(readFileSync(join(bundle, 'config.json'), 'utf8'), OLD);
    assert.deepEqual(readdirSync(bundle), ['config.json']);
  });

  test('a config that needs nothing: the client bundle, no shadow made', () => {
    const bundle = bundleWith(NEW);
    const shadow = shadowBundleDir(join(base, 'state-2'), 'web');
    assert.deepEqual(prepareBundle(bundle, shadow), { path: bundle, changes: [] });
    assert.equal(existsSync(join(base, 'state-2')), false);
  });

  test('a stale shadow is replaced', () => {
    const shadow = shadowBundleDir(join(base, 'state-3'), 'web');
    mkdirSync(shadow, { recursive: true });
    writeFileSync(join(shadow, 'config.json'), 'stale');
    prepareBundle(bundleWith(OLD), shadow);
    assert.match(readFileSync(join(shadow, 'config.json'), 'utf8'), /"bounding"/);
  });

  test('a missing bundle, a file for a bundle, a bundle without config.json: BundleNotFoundError', () => {
    const shadow = join(base, 'unused');
    assert.throws(() => prepareBundle(join(base, 'nope'), shadow), BundleNotFoundError);
    const file = join(base, 'a-file');
    writeFileSync(file, '');
    assert.throws(() => prepareBundle(file, shadow), BundleNotFoundError);
    const empty = join(base, 'empty-bundle');
    mkdirSync(empty);
    assert.throws(() => prepareBundle(empty, shadow), BundleNotFoundError);
    assert.equal(existsSync(shadow), false);
  });

  test('a config that is not JSON: InvalidBundleConfigError naming the file', () => {
    const bundle = bundleWith('{"process": ');
    assert.throws(
      () => prepareBundle(bundle, join(base, 'unused')),
      (err: unknown) =>
        err instanceof InvalidBundleConfigError &&
        err.message.startsWith(`${join(bundle, 'config.json')}: not valid JSON`),
    );
  });
});

describe('removeShadowBundle', () => {
  test('removes the shadow, and the shadow bundles folder once empty', () => {
    const state = join(base, 'state-4');
    const [a, b] = [shadowBundleDir(state, 'a'), shadowBundleDir(state, 'b')];
    prepareBundle(bundleWith(OLD), a);
    prepareBundle(bundleWith(OLD), b);
    removeShadowBundle(a);
    assert.deepEqual(readdirSync(join(state, SHADOW_BUNDLES_DIR)), ['b']);
    removeShadowBundle(b);
    assert.deepEqual(readdirSync(state), []);
    removeShadowBundle(b); // Again: nothing to do.
  });

  test('leaves the parent of a shadow elsewhere alone', () => {
    const parent = join(base, 'elsewhere');
    const shadow = join(parent, 'web');
    prepareBundle(bundleWith(OLD), shadow);
    removeShadowBundle(shadow);
    assert.deepEqual(readdirSync(parent), []);
  });
});
