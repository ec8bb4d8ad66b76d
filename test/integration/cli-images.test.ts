/**
 * `berth images ...` and `berth run IMAGE` on a real registry (Debian's
 * docker-registry on 127.0.0.1, the busybox test image pushed with skopeo),
 * daemonless and through a real berthd: pull, ls, inspect, run (pulling
 * first when absent), rm, prune; every run leaves no mount and no container
 * folder in the store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mountPoints } from '../../src/index.js';
import { processesUnder } from '../../support/processes.js';
import { tempDir } from '../../support/busybox.js';
import { fakeRuntime, runtimeIds, uniqueId } from '../helpers/env.js';
import {
  CLI,
  berth,
  exited,
  spawnBerth,
  startBerthd,
  underTerminal,
  type Daemon,
  type Result,
} from '../helpers/cli.js';
import {
  buildTestImage,
  pushImage,
  startRegistry,
  toDockerArchive,
  type Registry,
} from '../helpers/registry.js';

const base = tempDir('berth-cli-images-');
const store = join(base, 'store');
const stateDir = join(base, 'state');
const tmp = join(base, 'tmp');
mkdirSync(tmp);
const env = {
  BERTH_ADDRESS: `unix://${base}/nobody-listens.sock`,
  BERTH_STORE: store,
  TMPDIR: tmp,
};
let registry: Registry;
let ref = '';
let secondRef = '';

function images(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  return berth(['images', ...args], { env: { ...env, ...extra }, timeoutMs: 60_000 });
}

function run(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  return berth(['run', '--state-dir', stateDir, ...args], {
    env: { ...env, ...extra },
    timeoutMs: 60_000,
  });
}

function containerFolders(storeRoot = store): string[] {
  const dir = join(storeRoot, 'containers');
  return existsSync(dir) ? readdirSync(dir) : [];
}

function mountsUnder(dir: string): string[] {
  return mountPoints().filter((point) => point.startsWith(`${dir}/`));
}

before(async () => {
  registry = await startRegistry();
  const layout = join(base, 'layout');
  await buildTestImage(layout, 'test');
  ref = await pushImage(layout, 'test', registry, 'busybox', '1');
  secondRef = await pushImage(layout, 'test', registry, 'other', '2');
});

after(async () => {
  try {
    assert.deepEqual(mountsUnder(base), [], 'mounts left');
    assert.deepEqual(containerFolders(), [], 'container folders left in the store');
    const left = existsSync(stateDir)
      ? readdirSync(stateDir).filter((n) => !n.startsWith('.'))
      : [];
    assert.deepEqual(left, [], 'container state left');
    assert.deepEqual(runtimeIds(stateDir), []);
    assert.deepEqual(processesUnder(base), []);
  } finally {
    await registry?.stop();
    rmSync(base, { recursive: true, force: true });
  }
});

describe('berth images', () => {
  test('pull, ls, inspect: the image by its normalized name', async () => {
    const pulled = await images(['pull', ref, '--json']);
    assert.equal(pulled.status, 0, pulled.stderr);
    const image = JSON.parse(pulled.stdout) as { name: string; id: string; layers: unknown[] };
    assert.equal(image.name, ref);
    assert.match(image.id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(image.layers.length, 3);

    const listed = await images(['ls']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    assert.ok(listed.stdout.includes(`${ref}   ${image.id.slice(7, 19)}`), listed.stdout);
    const json = JSON.parse((await images(['ls', '--json'])).stdout) as { id: string }[];
    assert.deepEqual(
      json.map((i) => i.id),
      [image.id],
    );

    const inspected = await images(['inspect', image.id.slice(7, 19)]);
    assert.equal(inspected.status, 0, inspected.stderr);
    const [record] = JSON.parse(inspected.stdout) as {
      name: string;
      config: { config: { WorkingDir: string } };
    }[];
    assert.equal(record?.name, ref);
    assert.equal(record?.config.config.WorkingDir, '/app');
  });

  test('a pull on a terminal draws one progress bar per layer', async () => {
    const fresh = join(base, 'terminal-store');
    const res = await underTerminal(
      `BERTH_STORE=${fresh} ${process.execPath} ${CLI} images pull ${secondRef}`,
      { timeoutMs: 60_000 },
    );
    assert.equal(res.status, 0, res.stdout);
    const image = JSON.parse(
      (await images(['inspect', secondRef], { BERTH_STORE: fresh })).stdout,
    ) as { layers: { digest: string }[] }[];
    for (const layer of image[0]!.layers) {
      const bar = new RegExp(`${layer.digest.slice(7, 19)} \\[[^\\]]+\\] \\w+`);
      assert.match(res.stdout, bar, `a bar for layer ${layer.digest}`);
    }
    assert.match(res.stdout, new RegExp(`${secondRef} sha256:[0-9a-f]{64}`));
    rmSync(fresh, { recursive: true, force: true });
  });

  test('import: an OCI layout folder, and a docker archive on stdin; then run what was imported', async () => {
    const names = ['localhost/imported:dir', 'localhost/imported:tar'];
    try {
      const fromDir = await images(['import', join(base, 'layout'), '--name', names[0]!]);
      assert.equal(fromDir.status, 0, fromDir.stderr);
      assert.match(fromDir.stdout, /^localhost\/imported:dir sha256:[0-9a-f]{64}\n$/);
      const archive = join(base, 'archive.tar');
      await toDockerArchive(join(base, 'layout'), 'test', archive, names[1]!);
      const child = spawnBerth(['images', 'import', '-', '--json'], env);
      let stdout = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stdin!.end(readFileSync(archive));
      assert.deepEqual(await exited(child), { status: 0, signal: null });
      const [imported] = JSON.parse(stdout) as { name: string }[];
      assert.equal(imported?.name, names[1]);
      const res = await run(['--pull', 'never', names[1]!, '--', 'sh', '-c', 'cat /app/hello.txt']);
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stdout, 'hello from layer 3\n');
    } finally {
      // Other names of the pulled image would let `rm` of it through while a container uses it.
      for (const name of names) await images(['rm', name]);
    }
  });

  test('a reference that is not there: one line, ERR_IMAGE_NOT_FOUND, status 1', async () => {
    const res = await images(['inspect', 'nothing-here:1']);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /^berth: .*\(ERR_IMAGE_NOT_FOUND\)\n$/);
  });
});

describe('berth run IMAGE, daemonless', () => {
  test("the image's working dir, env, layers and whiteouts; nothing left after", async () => {
    const res = await run([
      ref,
      '--',
      'sh',
      '-c',
      'id; pwd; echo "$GREETING"; cat /app/hello.txt; cat /etc/removed 2>/dev/null || echo removed; exit 3',
    ]);
    assert.equal(res.status, 3, res.stderr);
    assert.equal(
      res.stdout,
      'uid=0(root) gid=0(root) groups=0(root)\n/app\nhello\nhello from layer 3\nremoved\n',
    );
    assert.deepEqual(containerFolders(), []);
    assert.deepEqual(mountsUnder(store), []);
  });

  test('the overrides: -u NAME, -w, -e, --entrypoint', async () => {
    const res = await run([
      '-u',
      'user',
      '-w',
      '/home/user',
      '-e',
      'GREETING=hi',
      '--entrypoint',
      'sh',
      ref,
      '-c',
      'id; pwd; echo "$GREETING $HOME"; cat owned',
    ]);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(
      res.stdout,
      'uid=1000(user) gid=1000(user) groups=1000(user)\n/home/user\nhi /home/user\nowned by 1000\n',
    );
  });

  test('an image not in the store is pulled first, as docker run does', async () => {
    const fresh = join(base, 'fresh-store');
    // The test image has busybox, sh, ls and cat: the rest through busybox.
    const res = await run([secondRef, '--', 'busybox', 'echo', 'pulled and ran'], {
      BERTH_STORE: fresh,
    });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, 'pulled and ran\n');
    assert.match(res.stderr, /not in the store: pulling it/);
    assert.deepEqual(containerFolders(fresh), []);
    const never = await run(['--pull', 'never', `${registry.host}/absent:1`, 'true']);
    assert.equal(never.status, 1);
    assert.match(never.stderr, /\(ERR_IMAGE_NOT_FOUND\)/);
    rmSync(fresh, { recursive: true, force: true });
  });

  test("-t: a terminal of the CLI's size; --memory: the limit on top of the image's config", async () => {
    const cli = `BERTH_STORE=${store} BERTH_ADDRESS=${env.BERTH_ADDRESS} ${process.execPath} ${CLI}`;
    const tty = await underTerminal(
      `${cli} run --state-dir ${stateDir} -t ${ref} -- sh -c 'busybox tty; busybox stty size'`,
      { cols: 100, rows: 40, timeoutMs: 60_000 },
    );
    assert.equal(tty.status, 0, tty.stdout);
    assert.match(tty.stdout, /\/dev\/pts\/\d+\r\r?\n40 100\r/);
    const limited = await run([
      '--memory',
      '64m',
      ref,
      '--',
      'sh',
      '-c',
      // cgroup v1, else v2.
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
    ]);
    assert.equal(limited.status, 0, limited.stderr);
    assert.equal(limited.stdout, `${64 * 1024 * 1024}\n`);
    assert.deepEqual(containerFolders(), []);
  });

  test('a user the image lacks: a typed error, and no folder made', async () => {
    const res = await run(['-u', 'ghost', ref, 'true']);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /unable to find user ghost.*\(ERR_IMAGE_USER_NOT_FOUND\)/);
    assert.deepEqual(containerFolders(), []);
  });
});

describe('berth run IMAGE through berthd', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startBerthd();
  });
  after(async () => {
    await daemon?.stop();
  });

  async function noFoldersSoon(): Promise<void> {
    // berthd deletes the container when it exits, a moment after the CLI has the status.
    for (let i = 0; i < 100 && containerFolders().length; i++) await sleep(50);
    assert.deepEqual(containerFolders(), [], 'berthd removed the container rootfs folder');
    assert.deepEqual(mountsUnder(store), []);
  }

  test('runs in berthd from the bundle berth made in the store; berthd removes it at the exit', async () => {
    const res = await daemon.berth(
      ['run', ref, '--', 'sh', '-c', 'echo "via berthd in $PWD"; exit 4'],
      {
        env: { BERTH_STORE: store },
      },
    );
    assert.equal(res.status, 4, res.stderr);
    assert.equal(res.stdout, 'via berthd in /app\n');
    await noFoldersSoon();
  });

  test('detached: the container runs from its overlay until killed', async () => {
    const id = uniqueId('d');
    const res = await daemon.berth(['run', '-d', '--name', id, ref, 'busybox', 'sleep', '30'], {
      env: { BERTH_STORE: store },
    });
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(containerFolders(), [id]);
    assert.deepEqual(mountsUnder(store), [join(store, 'containers', id, 'rootfs')]);
    const inUse = await images(['rm', ref]);
    assert.equal(inUse.status, 1, 'an image a container uses is not removed');
    assert.match(inUse.stderr, /\(ERR_IMAGE_IN_USE\)/);
    const killed = await daemon.berth(['containers', 'kill', id, '-s', 'KILL']);
    assert.equal(killed.status, 0, killed.stderr);
    await noFoldersSoon();
  });

  test('a create berthd refuses (a failing runtime) leaves no mount and no folder', async () => {
    const res = await daemon.berth(
      ['run', '--runtime', fakeRuntime('failing-runtime'), ref, 'true'],
      {
        env: { BERTH_STORE: store },
      },
    );
    assert.equal(res.status, 1);
    await noFoldersSoon();
  });
});

describe('berth images rm and prune', () => {
  test('rm forgets the image; prune frees its blobs and layers', async () => {
    const removed = await images(['rm', ref]);
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(removed.stdout, `removed ${ref}\n`);
    const pruned = await images(['prune', '--json']);
    assert.equal(pruned.status, 0, pruned.stderr);
    const result = JSON.parse(pruned.stdout) as { blobs: number; layers: number; bytes: number };
    assert.ok(result.layers >= 3 && result.blobs >= 5 && result.bytes > 0, pruned.stdout);
    assert.deepEqual(readdirSync(join(store, 'layers', 'sha256')), []);
    const again = await images(['rm', ref]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /\(ERR_IMAGE_NOT_FOUND\)/);
  });
});
