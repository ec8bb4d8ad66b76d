/**
 * Importing images from files: an OCI image layout (a dir, or a tar of one)
 * and a `docker save` archive (what `skopeo copy ... docker-archive:` writes).
 * A tar is first extracted into a private dir under ingest/ (regular files
 * only, by checked names; its symlinks are kept as a name map, never made on
 * disk), then read like a layout. Every blob is verified as it is copied in.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants, lstat, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ingestBlob, verifyBytes, type Descriptor } from './blobs.js';
import { sniffCompression } from './decompress.js';
import {
  ImageNotFoundError,
  InvalidImageError,
  LayerPathEscapeError,
  storeError,
} from './errors.js';
import { tempName } from './fsutil.js';
import { installImage } from './install.js';
import { digestHex, sha256Digest, type StoreLayout } from './layout.js';
import { DEFAULT_PLATFORM, MEDIA_TYPES, parseManifest, selectPlatform } from './manifest.js';
import { parseReference } from './reference.js';
import type { Image, ImportOptions } from './types.js';

const METADATA_MAX_BYTES = 16 * 1024 * 1024;
const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

/** A folder of image files, with the symlinks of the archive it came from resolved by name. */
class SourceDir {
  constructor(
    readonly dir: string,
    readonly links = new Map<string, string>(),
  ) {}

  path(name: string): string {
    let current = posix.normalize(name).replace(/^\/+/, '');
    for (let hops = 0; this.links.has(current); hops++) {
      if (hops > 16) throw new InvalidImageError(`symlink loop at ${name}`, this.dir);
      current = posix.normalize(posix.join(posix.dirname(current), this.links.get(current)!));
    }
    if (current.startsWith('../') || current === '..') {
      throw new LayerPathEscapeError(this.dir, name, 'points out of the archive');
    }
    return join(this.dir, current);
  }

  async read(name: string): Promise<Buffer> {
    const path = this.path(name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new InvalidImageError(`missing ${name}`, this.dir);
    if (info.size > METADATA_MAX_BYTES)
      throw new InvalidImageError(`${name} is too large`, this.dir);
    return readFile(path);
  }

  async exists(name: string): Promise<boolean> {
    return (await stat(this.path(name)).catch(() => undefined))?.isFile() ?? false;
  }

  blobPath(digest: string): string {
    return this.path(`blobs/sha256/${digestHex(digest, `blob in ${this.dir}`)}`);
  }
}

/** Extracts a tar's regular files into `dir`; directories are made, symlinks recorded, other entries skipped. */
async function extractArchive(
  input: NodeJS.ReadableStream,
  dir: string,
  what: string,
): Promise<SourceDir> {
  const links = new Map<string, string>();
  const extract = tar.extract();
  const feeding = new Promise<void>((resolve, reject) => {
    const readable =
      input instanceof Readable ? input : Readable.from(input as AsyncIterable<Buffer>);
    readable.on('error', (err) => {
      extract.destroy(err);
      reject(err);
    });
    readable.pipe(extract as unknown as NodeJS.WritableStream);
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  feeding.catch(() => {});
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const parts = header.name.split('/').filter((p) => p !== '' && p !== '.');
      if (parts.includes('..'))
        throw new LayerPathEscapeError(what, header.name, 'climbs out of the archive');
      const name = parts.join('/');
      if (header.type === 'file' || header.type === 'contiguous-file') {
        const path = join(dir, ...parts);
        await mkdir(dirname(path), { recursive: true });
        const handle = await open(
          path,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        try {
          for await (const chunk of entry as AsyncIterable<Uint8Array>) await handle.write(chunk);
        } finally {
          await handle.close();
        }
        continue;
      }
      if (header.type === 'symlink' || header.type === 'link') {
        // A hard link's name is from the archive's root, a symlink's from its own dir.
        links.set(
          name,
          header.type === 'link'
            ? posix.relative(posix.dirname(name), header.linkname)
            : header.linkname,
        );
      }
      for await (const _chunk of entry as AsyncIterable<Uint8Array>) {
        // only files are kept
      }
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    if ((err as NodeJS.ErrnoException).syscall !== undefined || err instanceof LayerPathEscapeError)
      throw err;
    throw new InvalidImageError(`not a readable tar archive: ${(err as Error).message}`, what, {
      cause: err,
    });
  }
  return new SourceDir(dir, links);
}

function copyFrom(source: SourceDir, layout: StoreLayout, what: string, signal?: AbortSignal) {
  return async (desc: Descriptor): Promise<void> => {
    const path = source.blobPath(desc.digest);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isFile()) throw new ImageNotFoundError(desc.digest, `in ${source.dir} (${what})`);
    await ingestBlob(layout, desc, async () => ({ body: createReadStream(path), offset: 0 }), {
      what,
      resumable: false,
      ...(signal && { signal }),
    });
  };
}

function normalizedName(name: string | undefined): string | undefined {
  if (!name) return undefined;
  try {
    const ref = parseReference(name);
    return ref.tag !== undefined ? `${ref.repository}:${ref.tag}` : undefined;
  } catch {
    return undefined;
  }
}

async function importLayout(
  layout: StoreLayout,
  source: SourceDir,
  opts: ImportOptions,
): Promise<Image[]> {
  const indexBytes = await source.read('index.json');
  const index = parseManifest(indexBytes, `${source.dir}/index.json`, MEDIA_TYPES.ociIndex);
  if (index.kind !== 'index') throw new InvalidImageError('index.json is not an index', source.dir);
  if (index.manifests.length === 0)
    throw new InvalidImageError('index.json lists no image', source.dir);
  const images: Image[] = [];
  for (const entry of index.manifests) {
    const refName = entry.annotations?.[CONTAINERD_NAME] ?? entry.annotations?.[REF_NAME];
    let name = '';
    if (opts.name) {
      const base = parseReference(opts.name);
      const tag =
        index.manifests.length > 1 && refName && !refName.includes('/') ? refName : base.tag;
      name = normalizedName(`${base.repository}:${tag ?? 'latest'}`) ?? '';
    } else if (refName && (refName.includes('/') || refName.includes(':'))) {
      name = normalizedName(refName) ?? '';
    }
    let manifestDesc: Descriptor = entry;
    const extraBlobs: string[] = [];
    let manifestBytes = await readFile(source.blobPath(entry.digest)).catch(() => {
      throw new ImageNotFoundError(entry.digest, `in ${source.dir}`);
    });
    verifyBytes(manifestBytes, entry, `manifest in ${source.dir}`);
    let parsed = parseManifest(
      manifestBytes,
      `manifest ${entry.digest} in ${source.dir}`,
      entry.mediaType,
    );
    if (parsed.kind === 'index') {
      const chosen = selectPlatform(parsed, DEFAULT_PLATFORM, refName ?? source.dir);
      await copyFrom(source, layout, `index in ${source.dir}`, opts.signal)(entry);
      extraBlobs.push(entry.digest);
      manifestDesc = chosen;
      manifestBytes = await readFile(source.blobPath(chosen.digest));
      verifyBytes(manifestBytes, chosen, `manifest in ${source.dir}`);
      parsed = parseManifest(
        manifestBytes,
        `manifest ${chosen.digest} in ${source.dir}`,
        chosen.mediaType,
      );
    }
    if (parsed.kind !== 'manifest') throw new InvalidImageError('nested index', source.dir);
    const configBytes = await readFile(source.blobPath(parsed.config.digest)).catch(() => {
      throw new ImageNotFoundError(parsed.config.digest, `in ${source.dir}`);
    });
    verifyBytes(configBytes, parsed.config, `config in ${source.dir}`);
    images.push(
      ...(await installImage(layout, {
        reference: name || manifestDesc.digest,
        manifest: {
          bytes: manifestBytes,
          digest: manifestDesc.digest,
          mediaType: parsed.mediaType,
        },
        config: { bytes: configBytes, digest: parsed.config.digest },
        layers: parsed.layers,
        names: [name],
        repoDigests: [],
        extraBlobs,
        fetchLayer: copyFrom(source, layout, `layer in ${source.dir}`, opts.signal),
        ...(opts.signal && { signal: opts.signal }),
      })),
    );
  }
  return images;
}

interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function hashFile(path: string): Promise<Descriptor> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function importDockerArchive(
  layout: StoreLayout,
  source: SourceDir,
  opts: ImportOptions,
): Promise<Image[]> {
  let entries: DockerArchiveEntry[];
  try {
    entries = JSON.parse(
      (await source.read('manifest.json')).toString('utf8'),
    ) as DockerArchiveEntry[];
  } catch (err) {
    if (err instanceof InvalidImageError) throw err;
    throw new InvalidImageError('manifest.json is not JSON', source.dir, { cause: err });
  }
  if (!Array.isArray(entries) || entries.length === 0)
    throw new InvalidImageError('manifest.json lists no image', source.dir);
  const images: Image[] = [];
  for (const entry of entries) {
    if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers)) {
      throw new InvalidImageError('manifest.json entry without Config and Layers', source.dir);
    }
    const configBytes = await source.read(entry.Config);
    const config = { digest: sha256Digest(configBytes), size: configBytes.length };
    const layers: Descriptor[] = [];
    const paths = new Map<string, string>();
    for (const name of entry.Layers) {
      const path = source.path(name);
      const desc = await hashFile(path).catch((err: unknown) => {
        throw new InvalidImageError(
          `cannot read layer ${name}: ${(err as Error).message}`,
          source.dir,
        );
      });
      const compression = await sniffCompression(path);
      layers.push({
        ...desc,
        mediaType:
          compression === 'gzip' ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.dockerLayerTar,
      });
      paths.set(desc.digest, path);
    }
    const manifestBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.dockerManifest,
        config: { mediaType: MEDIA_TYPES.dockerConfig, ...config },
        layers,
      }),
    );
    const tags = (entry.RepoTags ?? [])
      .map((tag) => normalizedName(tag))
      .filter((n): n is string => !!n);
    const names = opts.name ? [normalizedName(opts.name) ?? ''] : tags;
    images.push(
      ...(await installImage(layout, {
        reference: names[0] || config.digest,
        manifest: {
          bytes: manifestBytes,
          digest: sha256Digest(manifestBytes),
          mediaType: MEDIA_TYPES.dockerManifest,
        },
        config: { bytes: configBytes, digest: config.digest },
        layers,
        names,
        repoDigests: [],
        fetchLayer: async (desc) => {
          const path = paths.get(desc.digest)!;
          await ingestBlob(
            layout,
            desc,
            async () => ({ body: createReadStream(path), offset: 0 }),
            {
              what: `layer in ${source.dir}`,
              resumable: false,
              ...(opts.signal && { signal: opts.signal }),
            },
          );
        },
        ...(opts.signal && { signal: opts.signal }),
      })),
    );
  }
  return images;
}

async function importFrom(
  layout: StoreLayout,
  source: SourceDir,
  opts: ImportOptions,
  what: string,
): Promise<Image[]> {
  if ((await source.exists('index.json')) && (await source.exists('oci-layout')))
    return importLayout(layout, source, opts);
  if (await source.exists('manifest.json')) return importDockerArchive(layout, source, opts);
  throw new InvalidImageError(
    'neither an OCI image layout (index.json, oci-layout) nor a docker archive (manifest.json)',
    what,
  );
}

export async function importImages(
  layout: StoreLayout,
  source: string | NodeJS.ReadableStream,
  opts: ImportOptions,
): Promise<Image[]> {
  if (opts.name !== undefined) parseReference(opts.name);
  if (typeof source === 'string') {
    const info = await stat(source).catch((err: unknown) => {
      throw new ImageNotFoundError(source, `(cannot read it: ${(err as Error).message})`);
    });
    if (info.isDirectory()) return importFrom(layout, new SourceDir(source), opts, source);
  }
  const what = typeof source === 'string' ? source : 'the archive stream';
  const scratch = join(layout.ingestDir, tempName('import'));
  try {
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const input = typeof source === 'string' ? createReadStream(source) : source;
    const dir = await extractArchive(input, scratch, what);
    return await importFrom(layout, dir, opts, what);
  } catch (err) {
    throw storeError('importing into', scratch, err);
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => {});
  }
}
