/**
 * The CRI ImageService of a real berthd (`--cri-listen`, its own store),
 * driven by the reference client crictl v1.26 and by a gRPC client for what
 * crictl will not send: pulls from a real registry (plain and behind token
 * auth), images, inspecti, rmi, imagefsinfo, bad references and absent
 * images; SIGTERM leaves the images where they are.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { credentials as grpcCredentials, Metadata, status } from '@grpc/grpc-js';
import { tempDir } from '../../support/busybox.js';
import { ImageServiceClient } from '../../src/cri/generated/api.js';
import { createImageBundle, ImageStore } from '../../src/images/index.js';
import { crictl, findCrictl } from '../helpers/crictl.js';
import { spawnBerthd, type BerthdProcess } from '../helpers/berthd-process.js';
import {
  buildTestImage,
  pushImage,
  startRegistry,
  type BuiltImage,
  type Registry,
} from '../helpers/registry.js';

const binary = findCrictl();
if (!binary)
  console.log('# cri-images: crictl not found ($CRICTL, PATH, /work/shared/tools): skipped');

const credentials = { username: 'berth', password: 's3cret' };

/** Stops a berthd this file started, by its PID, and waits for its exit. */
async function stopBerthd(daemon: BerthdProcess | undefined): Promise<void> {
  if (!daemon || daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
  process.kill(daemon.pid, 'SIGTERM');
  await daemon.exited;
}

/** One unary ImageService call over the CRI socket; resolves with the response or the gRPC error. */
function call<Req, Res>(
  client: ImageServiceClient,
  method: keyof ImageServiceClient,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as unknown as (
      request: Req,
      metadata: Metadata,
      callback: (err: Error | null, response: Res) => void,
    ) => void;
    fn.call(client, request, new Metadata(), (err, response) =>
      err ? reject(err) : resolve(response),
    );
  });
}

interface InspectOutput {
  status: {
    id: string;
    repoTags: string[];
    repoDigests: string[];
    size: string;
    uid: { value: string } | null;
    username: string;
    spec: { image: string } | null;
    pinned: boolean;
  };
  /** crictl puts each key of ImageStatus's info map at the top, its JSON parsed. */
  info: { id?: string; imageSpec?: { config?: { User?: string } } };
}

describe(
  'CRI images through berthd and crictl',
  { skip: binary ? false : 'crictl not found' },
  () => {
    const base = tempDir('berth-cri-images-');
    const stateDir = join(base, 'state');
    const storeDir = join(base, 'store');
    const socket = join(base, 'berthd.sock');
    const criSocket = join(base, 'cri.sock');
    const savedDockerConfig = process.env.DOCKER_CONFIG;
    let registry: Registry;
    let authRegistry: Registry;
    let built: BuiltImage;
    let ref: string;
    let otherTagRef: string;
    let authRef: string;
    let daemon: BerthdProcess | undefined;
    let client: ImageServiceClient;
    const cri = (args: string[]) => crictl(binary!, criSocket, args);

    before(async () => {
      // berthd must not find credentials of whoever runs the tests.
      process.env.DOCKER_CONFIG = join(base, 'no-docker-config');
      [registry, authRegistry] = await Promise.all([
        startRegistry(),
        startRegistry({ auth: credentials }),
      ]);
      built = await buildTestImage(join(base, 'layout'), 'one');
      ref = await pushImage(join(base, 'layout'), 'one', registry);
      otherTagRef = await pushImage(join(base, 'layout'), 'one', registry, 'busybox', 'two');
      authRef = await pushImage(join(base, 'layout'), 'one', authRegistry);
      daemon = await spawnBerthd(stateDir, socket, [
        '--cri-listen',
        `unix://${criSocket}`,
        '--store',
        storeDir,
        '--cni-conf-dir',
        join(base, 'net.d'),
      ]);
      client = new ImageServiceClient(`unix://${criSocket}`, grpcCredentials.createInsecure());
    });

    after(async () => {
      client?.close();
      await stopBerthd(daemon);
      await Promise.all([registry?.stop(), authRegistry?.stop()]);
      if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = savedDockerConfig;
      rmSync(base, { recursive: true, force: true });
    });

    test('the CRI socket is the owner’s only (0600); berthd logs where it serves', () => {
      assert.equal(lstatSync(criSocket).mode & 0o777, 0o600);
      assert.match(daemon!.log(), /"msg":"CRI serving"/);
    });

    test('crictl pull: the image ref is the image id; images lists it with its tags', async () => {
      const pulled = await cri(['pull', ref]);
      assert.equal(pulled.status, 0, pulled.stderr);
      assert.match(pulled.stdout, new RegExp(`Image is up to date for ${built.config.digest}`));
      const again = await cri(['pull', otherTagRef]);
      assert.equal(again.status, 0, again.stderr);

      const listed = await cri(['images', '-o', 'json']);
      assert.equal(listed.status, 0, listed.stderr);
      const images = (JSON.parse(listed.stdout) as { images: InspectOutput['status'][] }).images;
      assert.equal(images.length, 1, 'two tags of one image are one CRI image');
      assert.equal(images[0]!.id, built.config.digest);
      assert.deepEqual(images[0]!.repoTags, [ref, otherTagRef].sort());
      assert.deepEqual(images[0]!.repoDigests, [
        `${registry.host}/busybox@${built.manifest.digest}`,
      ]);
      assert.ok(Number(images[0]!.size) > 0);

      const table = await cri(['images']);
      assert.equal(table.status, 0, table.stderr);
      assert.match(table.stdout, new RegExp(`^${registry.host}/busybox\\s+one\\s+`, 'm'));
      assert.match(table.stdout, new RegExp(`^${registry.host}/busybox\\s+two\\s+`, 'm'));

      const filtered = await cri(['images', '-o', 'json', ref]);
      assert.equal(filtered.status, 0, filtered.stderr);
      assert.equal((JSON.parse(filtered.stdout) as { images: unknown[] }).images.length, 1);
      const none = await cri(['images', '-o', 'json', `${registry.host}/absent:1`]);
      assert.equal(none.status, 0, none.stderr);
      assert.deepEqual((JSON.parse(none.stdout) as { images: unknown[] }).images, []);
    });

    test('crictl inspecti: by name, id, id prefix and repo digest; uid from the config’s User; verbose info', async () => {
      const hex = built.config.digest.slice('sha256:'.length);
      for (const name of [
        ref,
        built.config.digest,
        hex.slice(0, 12),
        `${registry.host}/busybox@${built.manifest.digest}`,
      ]) {
        const result = await cri(['inspecti', '-o', 'json', name]);
        assert.equal(result.status, 0, `${name}: ${result.stderr}`);
        const output = JSON.parse(result.stdout) as InspectOutput;
        assert.equal(output.status.id, built.config.digest, name);
        assert.deepEqual(output.status.uid, { value: '0' }, 'User 0:0 is uid 0');
        assert.equal(output.status.username, '');
        assert.equal(output.status.spec?.image, built.config.digest);
        assert.equal(output.status.pinned, false);
        assert.equal(output.info.id, built.config.digest);
        assert.equal(output.info.imageSpec?.config?.User, '0:0');
      }
    });

    test('an absent image: ImageStatus answers no image (not an error); crictl inspecti says so', async () => {
      const response = await call<object, { image?: unknown; info: object }>(
        client,
        'imageStatus',
        {
          image: { image: `${registry.host}/absent:1`, annotations: {} },
          verbose: false,
        },
      );
      assert.equal(response.image, undefined);
      const inspect = await cri(['inspecti', `${registry.host}/absent:1`]);
      assert.notEqual(inspect.status, 0);
      assert.match(inspect.stderr, /no such image/);
    });

    test('bad requests are INVALID_ARGUMENT; an absent tag is NOT_FOUND; nothing is kept', async (t) => {
      const bad = await cri(['pull', 'Busybox:UPPER?']);
      assert.notEqual(bad.status, 0);
      assert.match(
        bad.stderr,
        /code = InvalidArgument desc = invalid reference \\"Busybox:UPPER\?\\": invalid tag/,
      );

      for (const args of [
        ['inspecti', 'Bad:REF?'],
        ['rmi', 'Bad:REF?'],
        ['images', 'Bad:REF?'],
      ])
        await t.test(`crictl ${args.join(' ')}`, async () => {
          const refused = await cri(args);
          assert.notEqual(refused.status, 0);
          assert.match(refused.stderr, /code = InvalidArgument desc = invalid reference/);
        });

      for (const method of ['pullImage', 'imageStatus', 'removeImage'] as const)
        await t.test(`${method} of an empty image spec`, async () => {
          await assert.rejects(
            call(client, method, { image: { image: '', annotations: {} } }),
            (err: { code?: number; details?: string }) =>
              err.code === status.INVALID_ARGUMENT &&
              /image spec must name an image/.test(err.details!),
          );
        });
      await assert.rejects(
        call(client, 'pullImage', { image: undefined }),
        (err: { code?: number }) => err.code === status.INVALID_ARGUMENT,
      );

      const absent = await cri(['pull', `${registry.host}/busybox:absent`]);
      assert.notEqual(absent.status, 0);
      assert.match(absent.stderr, /code = NotFound/);
      const unreachable = await cri(['pull', '127.0.0.1:1/busybox:x']);
      assert.notEqual(unreachable.status, 0);
      assert.match(unreachable.stderr, /code = Unavailable/);

      const store = await ImageStore.open({ root: storeDir });
      assert.deepEqual(
        (await store.list()).map((image) => image.name).sort(),
        [ref, otherTagRef].sort(),
      );
    });

    test('token auth: refused without credentials (Unauthenticated); --creds and --auth pull', async () => {
      const refused = await cri(['pull', authRef]);
      assert.notEqual(refused.status, 0);
      assert.match(
        refused.stderr,
        /code = Unauthenticated desc = (registry refused access|token server refused) \(401\)/,
      );
      const wrong = await cri(['pull', '--creds', 'berth:wrong', authRef]);
      assert.notEqual(wrong.status, 0);
      assert.match(wrong.stderr, /code = Unauthenticated desc = token server refused \(401\)/);

      const okBefore = authRegistry.tokenRequests.ok;
      const withCreds = await cri([
        'pull',
        '--creds',
        `${credentials.username}:${credentials.password}`,
        authRef,
      ]);
      assert.equal(withCreds.status, 0, withCreds.stderr);
      assert.match(withCreds.stdout, new RegExp(built.config.digest));
      assert.ok(authRegistry.tokenRequests.ok > okBefore, 'a token was fetched with them');

      // As containerd's: removing an image removes every name it goes by.
      const rmi = await cri(['rmi', authRef]);
      assert.equal(rmi.status, 0, rmi.stderr);
      assert.equal((await cri(['images', '-q'])).stdout.trim(), '');
      const withAuth = await cri([
        'pull',
        '--auth',
        Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64'),
        authRef,
      ]);
      assert.equal(withAuth.status, 0, withAuth.stderr);
      for (const name of [ref, otherTagRef]) {
        const pulled = await cri(['pull', name]);
        assert.equal(pulled.status, 0, pulled.stderr);
      }
    });

    test('registry_token: a bearer token is sent as it is (no token server asked); a forged one is Unauthenticated', async () => {
      // The token a kubelet's credential provider would hand over: from the registry's token server.
      const challenge = await fetch(`http://${authRegistry.host}/v2/`);
      const header = challenge.headers.get('www-authenticate') ?? '';
      const realm = /realm="([^"]+)"/.exec(header)?.[1];
      const service = /service="([^"]+)"/.exec(header)?.[1];
      assert.ok(realm && service, header);
      const tokenUrl = new URL(realm);
      tokenUrl.searchParams.set('service', service);
      tokenUrl.searchParams.set('scope', 'repository:busybox:pull');
      const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString(
        'base64',
      );
      const answer = await fetch(tokenUrl, { headers: { authorization: `Basic ${basic}` } });
      assert.equal(answer.status, 200);
      const { token } = (await answer.json()) as { token: string };

      const pull = (registryToken: string) =>
        call<object, { imageRef: string }>(client, 'pullImage', {
          image: { image: authRef, annotations: {} },
          auth: {
            username: '',
            password: '',
            auth: '',
            serverAddress: '',
            identityToken: '',
            registryToken,
          },
          sandboxConfig: undefined,
        });
      const tokensBefore = { ...authRegistry.tokenRequests };
      await assert.rejects(
        pull(`${token}x`),
        (err: { code?: number; details?: string }) =>
          err.code === status.UNAUTHENTICATED &&
          /registry refused access \(401\)/.test(err.details!),
      );
      const pulled = await pull(token);
      assert.equal(pulled.imageRef, built.config.digest);
      assert.deepEqual(authRegistry.tokenRequests, tokensBefore, 'the token server was not asked');
    });

    test('a pull the client gives up on is given up by berthd too (the store is free again at once)', async () => {
      // A "registry" that accepts and never answers: only the cancellation can end the pull early.
      const sockets = new Set<Socket>();
      let accepted = 0;
      const stalled = createServer((socket) => {
        accepted++;
        sockets.add(socket);
        socket.on('error', () => {});
        socket.once('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
      const { port } = stalled.address() as AddressInfo;
      try {
        await assert.rejects(
          new Promise((resolve, reject) =>
            client.pullImage(
              {
                image: { image: `127.0.0.1:${port}/busybox:stalled`, annotations: {} },
                auth: undefined,
                sandboxConfig: undefined,
              },
              new Metadata(),
              { deadline: Date.now() + 500 },
              (err, response) => (err ? reject(err) : resolve(response)),
            ),
          ),
          (err: { code?: number }) => err.code === status.DEADLINE_EXCEEDED,
        );
        assert.ok(accepted > 0, 'berthd reached the registry');
        // The stalled pull held the store's lock; its registry timeout is 30 s. A pull
        // that needs the lock and finishes within crictl's 10 s had it released by the cancel.
        const started = Date.now();
        const next = await cri(['pull', ref]);
        assert.equal(next.status, 0, next.stderr);
        assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => stalled.close(() => resolve()));
      }
    });

    test('crictl imagefsinfo: the store, its bytes and inodes, a timestamp in ns', async () => {
      const before = BigInt(Date.now()) * 1_000_000n;
      const result = await cri(['imagefsinfo', '-o', 'json']);
      assert.equal(result.status, 0, result.stderr);
      const usage = (
        JSON.parse(result.stdout) as {
          status: {
            timestamp: string;
            fsId: { mountpoint: string };
            usedBytes: { value: string };
            inodesUsed: { value: string };
          };
        }
      ).status;
      assert.equal(usage.fsId.mountpoint, storeDir);
      assert.ok(BigInt(usage.timestamp) >= before - 1_000_000_000n, usage.timestamp);
      // busybox itself is over 1 MB; the layers hold dozens of files.
      assert.ok(Number(usage.usedBytes.value) > 1_000_000, usage.usedBytes.value);
      assert.ok(Number(usage.inodesUsed.value) > 20, usage.inodesUsed.value);

      // A container's root filesystem is mounted inside the store: it is not the store's to count.
      const mountpoint = join(storeDir, 'containers', 'cri-images-test', 'rootfs');
      mkdirSync(mountpoint, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountpoint]);
      try {
        writeFileSync(join(mountpoint, 'big'), Buffer.alloc(8 * 1024 * 1024, 1));
        const mounted = await cri(['imagefsinfo', '-o', 'json']);
        assert.equal(mounted.status, 0, mounted.stderr);
        const used = (JSON.parse(mounted.stdout) as { status: { usedBytes: { value: string } } })
          .status.usedBytes.value;
        assert.ok(Number(used) - Number(usage.usedBytes.value) < 1024 * 1024, used);
      } finally {
        execFileSync('umount', [mountpoint]);
        rmSync(join(storeDir, 'containers', 'cri-images-test'), { recursive: true });
      }
    });

    test('crictl rmi removes every name of the image and frees its layers; removing it again succeeds', async () => {
      const storeBefore = await ImageStore.open({ root: storeDir });
      const image = await storeBefore.get(ref);
      const layerDirs = storeBefore.layerPaths(image);
      assert.ok(layerDirs.every((dir) => existsSync(dir)));
      // A container's rootfs uses it: every name stays.
      const bundle = await createImageBundle(storeBefore, { id: 'cri-images-user', image: ref });
      try {
        const refused = await cri(['rmi', otherTagRef]);
        assert.notEqual(refused.status, 0);
        assert.match(
          refused.stderr,
          /code = FailedPrecondition desc = image .* is used by container\(s\) cri-images-user/,
        );
        assert.equal((await storeBefore.list()).length, 3);
      } finally {
        rmSync(bundle.path, { recursive: true, force: true });
      }
      // The auth registry's copy is the same image under a third name: one rmi by id removes all.
      const rmi = await cri(['rmi', built.config.digest]);
      assert.equal(rmi.status, 0, rmi.stderr);
      const listed = await cri(['images', '-q']);
      assert.equal(listed.stdout.trim(), '');
      assert.deepEqual(await storeBefore.list(), []);
      assert.ok(
        layerDirs.every((dir) => !existsSync(dir)),
        'layers no image uses are pruned',
      );
      // RemoveImage of an absent image is success, as the CRI says.
      await call(client, 'removeImage', { image: { image: ref, annotations: {} } });
    });

    test('SIGTERM stops berthd and removes its CRI socket, but not the images', async () => {
      const pulled = await cri(['pull', ref]);
      assert.equal(pulled.status, 0, pulled.stderr);
      process.kill(daemon!.pid, 'SIGTERM');
      const exit = await daemon!.exited;
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.equal(existsSync(criSocket), false);
      const store = await ImageStore.open({ root: storeDir });
      assert.deepEqual(
        (await store.list()).map((image) => image.id),
        [built.config.digest],
      );

      // A new berthd on the same store serves them.
      mkdirSync(stateDir, { recursive: true });
      daemon = await spawnBerthd(stateDir, socket, [
        '--cri-listen',
        `unix://${criSocket}`,
        '--store',
        storeDir,
      ]);
      client.close();
      client = new ImageServiceClient(`unix://${criSocket}`, grpcCredentials.createInsecure());
      const listed = await cri(['images', '-q']);
      assert.equal(listed.status, 0, listed.stderr);
      assert.equal(listed.stdout.trim(), built.config.digest);
    });
  },
);

test('berthd refuses a CRI socket in use and a store it cannot make: one clear line, exit 1, nothing left', async () => {
  const base = tempDir('berth-cri-start-');
  const socket = join(base, 'berthd.sock');
  const criSocket = join(base, 'cri.sock');
  const live = createServer(() => {});
  await new Promise<void>((resolve) => live.listen(criSocket, resolve));
  const started: BerthdProcess[] = [];
  try {
    const storeFile = join(base, 'store-is-a-file');
    writeFileSync(storeFile, '');
    for (const [flags, message] of [
      [['--cri-listen', `unix://${criSocket}`], /cri\.sock is in use/],
      [
        ['--cri-listen', `unix://${join(base, 'other.sock')}`, '--store', join(storeFile, 'x')],
        /image store: creating .*store-is-a-file\/x/,
      ],
    ] as const) {
      await assert.rejects(
        spawnBerthd(join(base, 'state'), socket, [...flags], (daemon) => started.push(daemon)),
        (err: Error) => message.test(err.message),
      );
      const exit = await started.at(-1)!.exited;
      assert.deepEqual(exit, { code: 1, signal: null });
      assert.equal(existsSync(socket), false, 'the API socket is removed again');
    }
    assert.equal(existsSync(join(base, 'other.sock')), false);
    assert.ok(lstatSync(criSocket).isSocket(), 'the live socket is left to its owner');
  } finally {
    for (const daemon of started) await stopBerthd(daemon);
    await new Promise<void>((resolve) => live.close(() => resolve()));
    rmSync(base, { recursive: true, force: true });
  }
});
