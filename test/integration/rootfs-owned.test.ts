/**
 * A rootfs the container owns (berth-rootfs.json in its bundle): mounted
 * before the runtime's create, recorded in state.json, unmounted and its
 * bundle folder removed at delete; a refused start (a failing runtime, a
 * hanging one) leaves no mount behind, and its delete no folder.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Container,
  ContainerStartTimeoutError,
  InvalidBundleConfigError,
  RuntimeError,
  mountPoints,
} from '../../src/index.js';
import { bundleConfig, ensureRootfs, tempDir } from '../../support/busybox.js';
import { assertNothingLeft, fakeRuntime, readAll, uniqueId } from '../helpers/env.js';

const base = tempDir('berth-rootfs-');
const root = join(base, 'root');
after(() => {
  try {
    assertNothingLeft(root, []);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/** A bundle whose rootfs is an overlay of the busybox rootfs, with its own upper and work dirs. */
function overlayBundle(args: string[], extra: Record<string, unknown> = {}): string {
  const dir = join(base, uniqueId('bundle'));
  for (const sub of ['upper', 'work', 'rootfs']) mkdirSync(join(dir, sub), { recursive: true });
  const config = bundleConfig({ args }, 'rootfs');
  (config.root as { readonly: boolean }).readonly = false;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const lower = ensureRootfs();
  writeFileSync(
    join(dir, 'berth-rootfs.json'),
    JSON.stringify({
      mounts: [
        {
          type: 'overlay',
          source: 'overlay',
          options: [`lowerdir=${lower}`, `upperdir=${dir}/upper`, `workdir=${dir}/work`],
        },
      ],
      removeBundle: true,
      ...extra,
    }),
  );
  return dir;
}

function mountedUnder(dir: string): string[] {
  return mountPoints().filter((point) => point === dir || point.startsWith(`${dir}/`));
}

describe('a container that owns its rootfs', () => {
  test('runs on the overlay, writes land in its upper dir, delete leaves no mount and no folder', async () => {
    const bundle = overlayBundle(['sh', '-c', 'echo written > /made-here; cat /made-here']);
    const container = await Container.create({ root, id: uniqueId(), bundle });
    const owner = JSON.parse(readFileSync(join(bundle, 'berth-rootfs.json'), 'utf8')) as {
      owner?: unknown;
    };
    assert.deepEqual(owner.owner, { root, id: container.id }, 'the rootfs names its container');
    const record = JSON.parse(readFileSync(join(container.dir, 'state.json'), 'utf8')) as {
      rootfs?: { target: string; removeBundle: boolean };
    };
    assert.equal(record.rootfs?.target, join(bundle, 'rootfs'));
    assert.deepEqual(mountedUnder(bundle), [], 'nothing is mounted before the start');
    const init = await container.run({ stdio: { stdout: 'pipe' } });
    assert.deepEqual(mountedUnder(bundle), [join(bundle, 'rootfs')]);
    assert.equal(await readAll(init.stdout), 'written\n');
    assert.equal(await init.wait(), 0);
    assert.equal(readFileSync(join(bundle, 'upper', 'made-here'), 'utf8'), 'written\n');
    assert.equal(
      existsSync(join(ensureRootfs(), 'made-here')),
      false,
      'the lower dir is untouched',
    );
    await container.delete();
    assert.deepEqual(mountedUnder(bundle), []);
    assert.equal(existsSync(bundle), false, 'removeBundle: the bundle folder is gone');
    assert.equal(existsSync(container.dir), false);
  });

  test('a supervisor that loads the container back still unmounts it at delete', async () => {
    const bundle = overlayBundle(['sleep', '100']);
    const created = await Container.create({ root, id: uniqueId(), bundle });
    await created.run();
    created.close();
    const loaded = await Container.load(root, created.id);
    assert.equal(mountedUnder(bundle).length, 1);
    await loaded.delete({ force: true });
    assert.deepEqual(mountedUnder(bundle), []);
    assert.equal(existsSync(bundle), false);
  });

  test('a runtime that refuses the create: no mount after the refusal, no folder after delete', async () => {
    const bundle = overlayBundle(['true']);
    const container = await Container.create({
      root,
      id: uniqueId(),
      bundle,
      runtime: fakeRuntime('failing-runtime'),
    });
    await assert.rejects(container.start(), RuntimeError);
    assert.deepEqual(mountedUnder(bundle), [], 'the refused start unmounted');
    await container.delete();
    assert.equal(existsSync(bundle), false);
    assert.equal(existsSync(container.dir), false);
  });

  test('a runtime that hangs in create: no mount after the timeout, no folder after delete', async () => {
    const bundle = overlayBundle(['true']);
    const container = await Container.create({
      root,
      id: uniqueId(),
      bundle,
      runtime: fakeRuntime('hanging-runtime'),
      timeout: 1500,
    });
    await assert.rejects(container.start(), ContainerStartTimeoutError);
    assert.deepEqual(mountedUnder(bundle), [], 'the timed-out start unmounted');
    await container.delete();
    assert.equal(existsSync(bundle), false);
  });

  for (const [what, content] of [
    [
      'an option longer than a page',
      JSON.stringify({
        mounts: [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${'x'.repeat(5000)}`] }],
      }),
    ],
    ['torn JSON', '{"mounts": ['],
    [
      'an option smuggling others in with a comma',
      JSON.stringify({ mounts: [{ type: 'overlay', source: 'overlay', options: ['ro,bind'] }] }),
    ],
  ] as const)
    test(`a berth-rootfs.json with ${what} is refused at create, and nothing is made`, async () => {
      const bundle = overlayBundle(['true']);
      writeFileSync(join(bundle, 'berth-rootfs.json'), content);
      const id = uniqueId();
      await assert.rejects(Container.create({ root, id, bundle }), InvalidBundleConfigError);
      assert.equal(existsSync(join(root, id)), false, 'no state folder');
    });
});
