/**
 * Containers from an image (two hand-made layers in the store's layout): the
 * image config's user (a name, with its supplementary groups), working dir
 * and env, the overrides, writes that land in the container's upper dir
 * only, whiteouts from the upper layer, delete leaving no mount or folder,
 * and many containers copying nothing of the layers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Container, mountPoints } from '../../src/index.js';
import { createImageBundle, removeStaleContainerRootfs } from '../../src/images/rootfs.js';
import type { ImageOverrides } from '../../src/images/bundle.js';
import { ImageUserNotFoundError } from '../../src/images/use-errors.js';
import { tempDir } from '../../support/busybox.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBerthd, type Daemon } from '../helpers/cli.js';
import { assertNothingLeft, fakeRuntime, readAll, uniqueId } from '../helpers/env.js';
import { handMadeStore, inodeCount } from '../helpers/image-layers.js';

const base = tempDir('berth-images-run-');
const root = join(base, 'state');
const storeRoot = join(base, 'store');
const { store, image } = handMadeStore(storeRoot);
after(() => {
  try {
    assertNothingLeft(root, []);
    assert.deepEqual(mountedUnder(base), [], 'mounts left under the test folder');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

function mountedUnder(dir: string): string[] {
  return mountPoints().filter((point) => point.startsWith(`${dir}/`));
}

/** Creates a container of the image, runs it to its exit, deletes it; its output and status. */
async function runImage(
  overrides: ImageOverrides = {},
  inspect?: (container: Container, bundle: string) => void,
): Promise<{ out: string; status: number }> {
  const id = uniqueId('img');
  const bundle = await createImageBundle(store, { id, image: image.name, overrides });
  const container = await Container.create({ root, id, bundle: bundle.path });
  try {
    const init = await container.run({ stdio: { stdout: 'pipe', stderr: 'pipe' } });
    const [out, err, status] = await Promise.all([
      readAll(init.stdout),
      readAll(init.stderr),
      init.wait(),
    ]);
    assert.equal(err, '', 'nothing on stderr');
    inspect?.(container, bundle.path);
    return { out, status };
  } finally {
    await container.delete({ force: true });
    assert.equal(existsSync(bundle.path), false, 'delete removed the container rootfs folder');
    assert.deepEqual(mountedUnder(bundle.path), [], 'delete unmounted the overlay');
  }
}

describe('a container from an image', () => {
  test("runs as the image's user name, with its groups, working dir and env", async () => {
    const { out, status } = await runImage();
    assert.equal(status, 0);
    assert.equal(
      out,
      'uid=1000(app) gid=1000(app) groups=1000(app),2000(extra),3000(more)\n/home/app\nfrom-image\n',
    );
  });

  test('the overrides: -u, -w, -e, --entrypoint and the command after the image', async () => {
    const { out } = await runImage({
      user: 'root:extra',
      cwd: '/tmp',
      env: ['FOO=overridden', 'BAR=added'],
      entrypoint: ['sh', '-c'],
      args: ['id; pwd; echo "$FOO $BAR $HOME"'],
    });
    assert.equal(
      out,
      'uid=0(root) gid=2000(extra) groups=2000(extra)\n/tmp\noverridden added /root\n',
    );
    const numeric = await runImage({ user: '4242', args: ['id'] });
    assert.equal(numeric.out, 'uid=4242 gid=0(root) groups=0(root)\n');
  });

  test('a user name the image lacks is refused before anything is made', async () => {
    const id = uniqueId('img');
    await assert.rejects(
      createImageBundle(store, { id, image: image.name, overrides: { user: 'nobody-here' } }),
      ImageUserNotFoundError,
    );
    assert.equal(existsSync(join(storeRoot, 'containers', id)), false);
  });

  test('the upper layer’s whiteout and opaque folder hide the lower layer’s files', async () => {
    const { out } = await runImage({
      args: ['sh', '-c', 'test -e /hidden-file || echo hidden; ls /opaque'],
    });
    assert.equal(out, 'hidden\nnew\n');
  });

  test("writes land in the container's upper dir only; a second container does not see them", async () => {
    const layerInodes = image.layerDirs.map(inodeCount);
    const { out } = await runImage(
      { user: 'root', args: ['sh', '-c', 'echo mine > /bin/written; rm /etc/group; echo done'] },
      (_container, bundle) => {
        assert.equal(readFileSync(join(bundle, 'upper', 'bin', 'written'), 'utf8'), 'mine\n');
      },
    );
    assert.equal(out, 'done\n');
    assert.deepEqual(image.layerDirs.map(inodeCount), layerInodes, 'the layers are unchanged');
    assert.ok(existsSync(join(image.layerDirs[1]!, 'etc', 'group')));
    const second = await runImage({
      args: ['sh', '-c', 'test -e /bin/written && echo seen; test -e /etc/group && echo group'],
    });
    assert.equal(second.out, 'group\n');
  });

  test('the 100th container copies nothing of the layers', async () => {
    const layerInodes = image.layerDirs.map(inodeCount);
    const made: Container[] = [];
    try {
      for (let i = 0; i < 100; i++) {
        const id = uniqueId('many');
        const bundle = await createImageBundle(store, { id, image, overrides: { args: ['true'] } });
        made.push(await Container.create({ root, id, bundle: bundle.path }));
      }
      // The first and the 100th run (on a loaded 2-core machine, 100 runs take a minute);
      // their overlays stay mounted until delete.
      for (const container of [made[0]!, made[99]!])
        assert.equal(await (await container.run()).wait(), 0);
      const containers = join(storeRoot, 'containers');
      assert.equal(readdirSync(containers).length, 100);
      assert.equal(mountedUnder(containers).length, 2);
      for (const name of readdirSync(containers)) {
        // The runtime's own mount points (/proc, /dev, ...) are all a run made in upper/.
        assert.ok(
          inodeCount(join(containers, name)) < 30,
          `${name}: the container folder holds next to nothing`,
        );
      }
      assert.deepEqual(
        image.layerDirs.map(inodeCount),
        layerInodes,
        'no inode added to the layers',
      );
    } finally {
      for (const container of made) await container.delete({ force: true });
    }
    assert.deepEqual(mountedUnder(storeRoot), []);
    assert.deepEqual(readdirSync(join(storeRoot, 'containers')), []);
  });

  test('prune removes a rootfs folder nobody created a container for, and keeps the others', async () => {
    const orphan = await createImageBundle(store, { id: uniqueId('orphan'), image });
    const young = await createImageBundle(store, { id: uniqueId('young'), image });
    const ownedId = uniqueId('owned');
    const owned = await createImageBundle(store, { id: ownedId, image });
    const container = await Container.create({ root, id: ownedId, bundle: owned.path });
    const old = new Date(Date.now() - 5 * 60_000);
    for (const dir of [orphan.path, owned.path]) utimesSync(dir, old, old);
    try {
      assert.deepEqual(await removeStaleContainerRootfs(storeRoot), [orphan.path]);
      assert.ok(existsSync(young.path) && existsSync(owned.path));
    } finally {
      await container.delete();
      rmSync(young.path, { recursive: true });
    }
  });
});

describe('a container from an image through berthd', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startBerthd();
  });
  after(async () => {
    await daemon?.stop();
  });

  async function goneSoon(dir: string): Promise<void> {
    // berthd deletes the container when it exits, a moment after the client has the status.
    for (let i = 0; i < 100 && existsSync(dir); i++) await sleep(50);
    assert.equal(existsSync(dir), false, 'berthd removed the container rootfs folder');
    assert.deepEqual(mountedUnder(dir), []);
  }

  test('CreateContainer on a bundle made from an image works as any other; berthd removes it at the exit', async () => {
    const id = uniqueId('bd');
    const bundle = await createImageBundle(store, {
      id,
      image,
      overrides: { args: ['sh', '-c', 'id; echo "via berthd in $PWD"; exit 5'] },
    });
    const res = await daemon.berth(['containers', 'start', '-a', id, bundle.path]);
    assert.equal(res.status, 5, res.stderr);
    assert.equal(
      res.stdout,
      'uid=1000(app) gid=1000(app) groups=1000(app),2000(extra),3000(more)\nvia berthd in /home/app\n',
    );
    await goneSoon(bundle.path);
  });

  test('a create berthd refuses (a runtime that says no) leaves no mount and no folder', async () => {
    const id = uniqueId('bd');
    const bundle = await createImageBundle(store, { id, image });
    const res = await daemon.berth([
      'containers',
      'start',
      '--runtime',
      fakeRuntime('refusing-runtime'),
      id,
      bundle.path,
    ]);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /container not started/);
    await goneSoon(bundle.path);
  });
});
