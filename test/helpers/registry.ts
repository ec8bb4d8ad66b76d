/**
 * Test images and a real registry for them: Debian's docker-registry (the
 * distribution registry v2.8) on 127.0.0.1, optionally behind token auth
 * served by a small Node token server; test images built from /bin/busybox
 * as OCI layouts with tar-stream; skopeo to push them.
 * Shared by the images tests, the "use" tests and bench/images-pull.ts.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

const execFileAsync = promisify(execFile);

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const BUSYBOX = '/bin/busybox';

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TokenAuth {
  username: string;
  password: string;
}

export interface Registry {
  /** host:port, e.g. 127.0.0.1:41234. */
  host: string;
  dir: string;
  /** Credentials the token server accepts, when started with auth. */
  auth?: TokenAuth;
  /** Token requests the token server answered (and refused). */
  tokenRequests: { ok: number; refused: number };
  stop(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A token server as registries expect it: basic credentials in, an RS256 JWT (x5c = the cert) out. */
async function startTokenServer(
  dir: string,
  auth: TokenAuth,
  counts: Registry['tokenRequests'],
): Promise<{ server: Server; realm: string; certFile: string }> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=berth-test-token',
  ]);
  const key = createPrivateKey(readFileSync(keyFile));
  const der = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      counts.refused++;
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    counts.ok++;
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der] }));
    const claims = base64url(
      JSON.stringify({
        iss: 'berth-test-issuer',
        sub: auth.username,
        aud: url.searchParams.get('service'),
        exp: now + 600,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), key).toString('base64url');
    const token = `${header}.${claims}.${signature}`;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, access_token: token }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, realm: `http://127.0.0.1:${port}/token`, certFile };
}

/** Starts docker-registry on a free 127.0.0.1 port, its config and storage in a temp dir; stop() ends it by its PID. */
export async function startRegistry(opts: { auth?: TokenAuth } = {}): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const tokenRequests = { ok: 0, refused: 0 };
  const token = opts.auth ? await startTokenServer(dir, opts.auth, tokenRequests) : undefined;
  let child: ChildProcess | undefined;
  let host = '';
  // A free port can be taken between the probe and the bind: try a few.
  for (let attempt = 0; attempt < 5 && !host; attempt++) {
    const port = await freePort();
    const config = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(token
        ? [
            'auth:',
            '  token:',
            `    realm: ${token.realm}`,
            '    service: berth-test',
            '    issuer: berth-test-issuer',
            `    rootcertbundle: ${token.certFile}`,
          ]
        : []),
    ].join('\n');
    writeFileSync(join(dir, 'config.yml'), `${config}\n`);
    child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    for (let i = 0; i < 100; i++) {
      const up = await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.status === 200 || r.status === 401,
        () => false,
      );
      if (up) {
        host = `127.0.0.1:${port}`;
        break;
      }
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!host) {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      if (attempt === 4) throw new Error(`docker-registry did not start: ${stderr}`);
    }
  }
  const registryProcess = child!;
  return {
    host,
    dir,
    ...(opts.auth && { auth: opts.auth }),
    tokenRequests,
    async stop() {
      if (registryProcess.exitCode === null && registryProcess.signalCode === null) {
        const exited = new Promise<void>((resolve) =>
          registryProcess.once('exit', () => resolve()),
        );
        process.kill(registryProcess.pid!, 'SIGTERM');
        await exited;
      }
      if (token) await new Promise<void>((resolve) => token.server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One tar entry of a test layer. */
export interface LayerEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
  mtime?: Date;
}

export const TEST_MTIME = new Date('2024-01-02T03:04:05Z');

export async function layerTar(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (chunk) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const data = entry.data === undefined ? undefined : Buffer.from(entry.data);
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: entry.name,
        type,
        mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        mtime: entry.mtime ?? TEST_MTIME,
        ...(entry.linkname !== undefined && { linkname: entry.linkname }),
        ...(entry.devmajor !== undefined && { devmajor: entry.devmajor }),
        ...(entry.devminor !== undefined && { devminor: entry.devminor }),
        ...(entry.pax && { pax: entry.pax }),
        ...(type === 'file' && { size: data?.length ?? 0 }),
      };
      const callback = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, data ?? Buffer.alloc(0), callback);
      else pack.entry(header, callback);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function compress(data: Buffer, compression: Compression): Buffer {
  if (compression === 'gzip') return gzipSync(data);
  if (compression === 'zstd') {
    const result = spawnSync('zstd', ['-q', '-c'], { input: data, maxBuffer: 1 << 30 });
    if (result.status !== 0) throw new Error(`zstd failed: ${result.stderr.toString()}`);
    return result.stdout;
  }
  return data;
}

const LAYER_MEDIA_TYPE: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

/** An OCI image layout being written: blobs plus index.json. */
export class OciLayout {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  }
  addBlob(data: Buffer | string, mediaType: string): Descriptor {
    const bytes = Buffer.from(data);
    const digest = sha256(bytes);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  }
  writeIndex(manifests: Descriptor[]): void {
    writeFileSync(
      join(this.dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
      }),
    );
  }
}

export interface TestImageOptions {
  architecture?: string;
  /** Per layer; default gzip for all. */
  compression?: Compression[];
  /** Extra layers on top (e.g. a hostile one). */
  extraLayers?: LayerEntry[][];
  /** Replaces the default layers entirely. */
  layers?: LayerEntry[][];
  /** Bytes of random data in a file of the top layer (to make pulls measurable). */
  padding?: number;
  /** Fields of the image config's `config` on top of the default ones (Cmd, StopSignal...). */
  config?: Record<string, unknown>;
}

export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  diffIds: string[];
}

/**
 * The default test image, from /bin/busybox, in three layers:
 * 1. the base: busybox and applet symlinks, a hard link, a char device 1:3,
 *    a file with an xattr, files owned by uid 1000, `opaque/old`, `etc/removed`;
 * 2. a whiteout of `etc/removed`, an opaque `opaque/` with `opaque/new`;
 * 3. `app/hello.txt` (mode 0640, uid 1000:1001).
 */
export function defaultLayers(): LayerEntry[][] {
  const busybox = readFileSync(BUSYBOX);
  return [
    [
      { name: 'bin/', type: 'directory' },
      { name: 'bin/busybox', data: busybox, mode: 0o755 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: 'bin/ls', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/cat', type: 'symlink', linkname: 'busybox' },
      { name: 'bin/busybox-hardlink', type: 'link', linkname: 'bin/busybox' },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'etc/', type: 'directory' },
      {
        name: 'etc/passwd',
        data: 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n',
      },
      { name: 'etc/group', data: 'root:x:0:\nuser:x:1000:\n' },
      { name: 'etc/removed', data: 'removed in layer 2\n' },
      {
        name: 'etc/xattr-file',
        data: 'has an xattr\n',
        pax: { 'SCHILY.xattr.user.berth': 'hello' },
      },
      { name: 'home/', type: 'directory' },
      { name: 'home/user/', type: 'directory', uid: 1000, gid: 1000, mode: 0o700 },
      { name: 'home/user/owned', data: 'owned by 1000\n', uid: 1000, gid: 1000, mode: 0o600 },
      { name: 'opaque/', type: 'directory' },
      { name: 'opaque/old', data: 'hidden by the opaque dir of layer 2\n' },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
    ],
    [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.removed', data: '' },
      { name: 'opaque/', type: 'directory' },
      { name: 'opaque/.wh..wh..opq', data: '' },
      { name: 'opaque/new', data: 'new in layer 2\n' },
    ],
    [
      { name: 'app/', type: 'directory' },
      { name: 'app/hello.txt', data: 'hello from layer 3\n', mode: 0o640, uid: 1000, gid: 1001 },
    ],
  ];
}

/** Writes an image (manifest, config, layers) into `layout`; does not touch index.json. */
export async function addImage(
  layout: OciLayout,
  opts: TestImageOptions = {},
): Promise<BuiltImage> {
  const layerEntries = [...(opts.layers ?? defaultLayers()), ...(opts.extraLayers ?? [])];
  if (opts.padding) {
    layerEntries.push([{ name: 'padding.bin', data: randomBytes(opts.padding) }]);
  }
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const [i, entries] of layerEntries.entries()) {
    const raw = await layerTar(entries);
    const compression = opts.compression?.[i] ?? 'gzip';
    diffIds.push(sha256(raw));
    layers.push(layout.addBlob(compress(raw, compression), LAYER_MEDIA_TYPE[compression]));
  }
  const config = layout.addBlob(
    JSON.stringify({
      architecture: opts.architecture ?? 'amd64',
      os: 'linux',
      created: TEST_MTIME.toISOString(),
      config: {
        Env: ['PATH=/bin', 'GREETING=hello'],
        Cmd: ['/bin/sh'],
        WorkingDir: '/app',
        User: '0:0',
        Labels: { 'org.berth.test': 'yes' },
        ...opts.config,
      },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layerEntries.map((_, i) => ({
        created: TEST_MTIME.toISOString(),
        created_by: `layer ${i + 1}`,
      })),
    }),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = layout.addBlob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers,
    }),
    'application/vnd.oci.image.manifest.v1+json',
  );
  return { manifest, config, layers, diffIds };
}

/** Builds the test image as an OCI layout at `dir` (index.json names it `tag`). */
export async function buildTestImage(
  dir: string,
  tag = 'test',
  opts: TestImageOptions = {},
): Promise<BuiltImage> {
  const layout = new OciLayout(dir);
  const image = await addImage(layout, opts);
  layout.writeIndex([
    { ...image.manifest, annotations: { 'org.opencontainers.image.ref.name': tag } },
  ]);
  return image;
}

/** An OCI layout whose `tag` is an index of the test image for linux/amd64 and linux/arm64 (or the platforms given). */
export async function buildTestIndex(
  dir: string,
  tag = 'multi',
  architectures = ['amd64', 'arm64'],
): Promise<{ index: Descriptor; images: BuiltImage[] }> {
  const layout = new OciLayout(dir);
  const images: BuiltImage[] = [];
  for (const architecture of architectures) images.push(await addImage(layout, { architecture }));
  const index = layout.addBlob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: images.map((image, i) => ({
        ...image.manifest,
        platform: { os: 'linux', architecture: architectures[i]! },
      })),
    }),
    'application/vnd.oci.image.index.v1+json',
  );
  layout.writeIndex([{ ...index, annotations: { 'org.opencontainers.image.ref.name': tag } }]);
  return { index, images };
}

/** skopeo copy of an OCI layout's `tag` to the registry (`--all` keeps an index whole). */
export async function pushImage(
  layoutDir: string,
  tag: string,
  registry: Registry,
  repository = 'busybox',
  destTag = tag,
): Promise<string> {
  const destination = `${registry.host}/${repository}:${destTag}`;
  await execFileAsync(
    'skopeo',
    [
      'copy',
      '--all',
      '--quiet',
      '--dest-tls-verify=false',
      ...(registry.auth
        ? ['--dest-creds', `${registry.auth.username}:${registry.auth.password}`]
        : []),
      `oci:${layoutDir}:${tag}`,
      `docker://${destination}`,
    ],
    { timeout: 120_000 },
  );
  return destination;
}

/** skopeo copy of an OCI layout's `tag` into a docker archive (`docker save` format) named `name`. */
export async function toDockerArchive(
  layoutDir: string,
  tag: string,
  file: string,
  name: string,
): Promise<void> {
  await execFileAsync(
    'skopeo',
    ['copy', '--quiet', `oci:${layoutDir}:${tag}`, `docker-archive:${file}:${name}`],
    {
      timeout: 120_000,
    },
  );
}

export function tempDir(prefix = 'berth-images-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
