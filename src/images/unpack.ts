/**
 * Unpacks one layer tar into a fresh dir, as an overlay lowerdir: whiteouts
 * `.wh.x` become 0:0 character devices, `.wh..wh..opq` the xattr
 * trusted.overlay.opaque=y on its dir; hard links, device nodes, xattrs (PAX
 * SCHILY.xattr.*), ownership, modes and mtimes are kept.
 *
 * Nothing is created through a symlink: every entry's path is made of plain
 * components (no `..`), each parent is checked with lstat to be a real
 * directory of this layer, and hard links must point at an entry of this
 * layer. The uncompressed stream is hashed on the way and must match the
 * config's diff id.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  rm,
  symlink,
  constants,
} from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { decompressor, sniffStream } from './decompress.js';
import { BatchedWriter } from './fsutil.js';
import { DigestMismatchError, LayerPathEscapeError, InvalidImageError } from './errors.js';

const execFileAsync = promisify(execFile);

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';
const XATTR_PREFIX = 'SCHILY.xattr.';

type EntryHeader = Omit<tar.Header, 'pax' | 'type'> & {
  type: tar.Header['type'] | null | undefined | string;
  pax?: Record<string, string> | null;
};

/** Reads an entry's body to its end (tar-stream's entries are streamx streams). */
async function drain(body: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of body) {
    // nothing to keep
  }
}

export interface UnpackResult {
  /** Bytes of the regular files unpacked. */
  size: number;
}

/** The components of an entry's name inside the layer, refusing any that climb out. */
function components(layer: string, name: string): string[] {
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..'))
    throw new LayerPathEscapeError(layer, name, 'climbs out of the layer with ".."');
  return parts;
}

async function run(file: string, args: string[]): Promise<void> {
  await execFileAsync(file, args, { timeout: 30_000 });
}

class LayerWriter {
  /** Dirs known to be real directories of this layer (never symlinks). */
  readonly #dirs = new Set<string>();
  /** Dir metadata, applied last: adding entries to a dir changes its mtime. */
  readonly #dirTimes: { path: string; mtime: Date }[] = [];
  size = 0;

  constructor(
    readonly root: string,
    readonly layer: string,
  ) {
    this.#dirs.add(root);
  }

  /** Makes (or checks) every parent of `parts` as a real directory, never following a symlink. */
  async parents(entry: string, parts: string[]): Promise<string> {
    let dir = this.root;
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part);
      if (this.#dirs.has(dir)) continue;
      const info = await lstat(dir).catch(() => undefined);
      if (!info) {
        await mkdir(dir, { mode: 0o755 });
      } else if (info.isSymbolicLink()) {
        throw new LayerPathEscapeError(this.layer, entry, `goes through the symlink ${part}`);
      } else if (!info.isDirectory()) {
        await rm(dir, { force: true });
        await mkdir(dir, { mode: 0o755 });
      }
      this.#dirs.add(dir);
    }
    return dir;
  }

  /** Clears what a new entry replaces (tar allows an entry to replace an earlier one). */
  async replace(path: string, keepDir: boolean): Promise<void> {
    const info = await lstat(path).catch(() => undefined);
    if (!info) return;
    if (keepDir && info.isDirectory()) return;
    await rm(path, { recursive: true, force: true });
    for (const dir of this.#dirs) {
      if (dir === path || dir.startsWith(`${path}/`)) this.#dirs.delete(dir);
    }
  }

  async entry(header: EntryHeader, body: AsyncIterable<Uint8Array>): Promise<void> {
    const parts = components(this.layer, header.name);
    if (parts.length === 0) {
      // The layer's root: only its metadata.
      if (header.type === 'directory') await this.metadata(this.root, header);
      await drain(body);
      return;
    }
    const base = parts[parts.length - 1]!;
    const parent = await this.parents(header.name, parts);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await drain(body);
      if (base === OPAQUE_WHITEOUT) {
        await run('setfattr', ['-h', '-n', 'trusted.overlay.opaque', '-v', 'y', parent]);
        return;
      }
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden === '' || hidden === '.' || hidden === '..') {
        throw new LayerPathEscapeError(this.layer, header.name, 'is a whiteout of no name');
      }
      const path = join(parent, hidden);
      await this.replace(path, false);
      await run('mknod', ['-m', '000', path, 'c', '0', '0']);
      return;
    }
    const path = join(parent, base);
    switch (header.type) {
      case 'directory':
        await drain(body);
        await this.replace(path, true);
        await mkdir(path, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
        this.#dirs.add(path);
        await this.metadata(path, header);
        return;
      case 'file':
      case 'contiguous-file':
      case null:
      case undefined: {
        await this.replace(path, false);
        const handle = await open(
          path,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        try {
          const writer = new BatchedWriter(handle);
          for await (const chunk of body) await writer.write(chunk);
          await writer.flush();
        } finally {
          await handle.close();
        }
        this.size += header.size ?? 0;
        await this.metadata(path, header);
        return;
      }
      case 'symlink':
        await drain(body);
        await this.replace(path, false);
        // The target is kept as written: it is resolved inside the container's rootfs, never here.
        await symlink(header.linkname ?? '', path);
        await this.metadata(path, header);
        return;
      case 'link': {
        await drain(body);
        const target = await this.linkTarget(header);
        await this.replace(path, false);
        await link(target, path);
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        await drain(body);
        await this.replace(path, false);
        const kind =
          header.type === 'fifo'
            ? ['p']
            : [
                header.type === 'block-device' ? 'b' : 'c',
                String(header.devmajor ?? 0),
                String(header.devminor ?? 0),
              ];
        await run('mknod', [path, ...kind]);
        await this.metadata(path, header);
        return;
      }
      default:
        // Other types (GNU sparse, volume labels) carry nothing a rootfs needs.
        await drain(body);
    }
  }

  /** A hard link's target: an entry of this layer, reached through real directories only. */
  async linkTarget(header: EntryHeader): Promise<string> {
    const name = header.linkname ?? '';
    const parts = components(this.layer, name);
    if (parts.length === 0)
      throw new LayerPathEscapeError(this.layer, header.name, `hard-links to the layer root`);
    let path = this.root;
    for (const [i, part] of parts.entries()) {
      path = join(path, part);
      const info = await lstat(path).catch(() => undefined);
      if (!info) {
        throw new LayerPathEscapeError(
          this.layer,
          header.name,
          `hard-links to "${name}", which is not in the layer`,
        );
      }
      if (i < parts.length - 1 && !info.isDirectory()) {
        throw new LayerPathEscapeError(
          this.layer,
          header.name,
          `hard-links through "${part}", not a directory`,
        );
      }
      if (i === parts.length - 1 && info.isDirectory()) {
        throw new LayerPathEscapeError(
          this.layer,
          header.name,
          `hard-links to the directory "${name}"`,
        );
      }
    }
    return path;
  }

  async metadata(path: string, header: EntryHeader): Promise<void> {
    await lchown(path, header.uid ?? 0, header.gid ?? 0);
    if (header.type !== 'symlink') await chmod(path, (header.mode ?? 0o644) & 0o7777);
    for (const [key, value] of Object.entries(header.pax ?? {})) {
      if (!key.startsWith(XATTR_PREFIX)) continue;
      const name = key.slice(XATTR_PREFIX.length);
      const hex = Buffer.from(value, 'utf8').toString('hex');
      await run('setfattr', ['-h', '-n', name, '-v', `0x${hex}`, path]);
    }
    const mtime = header.mtime ?? new Date(0);
    if (header.type === 'directory') this.#dirTimes.push({ path, mtime });
    else await lutimes(path, mtime, mtime);
  }

  async finish(): Promise<void> {
    for (const { path, mtime } of this.#dirTimes.reverse()) await lutimes(path, mtime, mtime);
  }
}

/**
 * Unpacks the layer blob (the file at `blob`, or its bytes as they arrive)
 * into `dir` (which must exist, empty), and checks the uncompressed stream's
 * digest against `diffId`.
 */
export async function unpackLayer(
  blob: string | AsyncIterable<Uint8Array>,
  dir: string,
  diffId: string,
  opts: { layer: string; signal?: AbortSignal },
): Promise<UnpackResult> {
  const { compression, body } = await sniffStream(
    typeof blob === 'string' ? createReadStream(blob, { highWaterMark: 1 << 20 }) : blob,
  );
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const extract = tar.extract();
  const writer = new LayerWriter(dir, opts.layer);
  // Stops every stream of the pipeline when the entries' side fails (or the caller gives up).
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const unpacking = decompressor(compression);
  // A decompressor cut short may still report "unexpected end of file" after the pipeline settled.
  unpacking.on('error', () => {});
  const feeding = pipeline(
    Readable.from(body, { objectMode: false }),
    unpacking,
    hasher,
    async function (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        if (!extract.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              extract.off('drain', done);
              extract.off('close', done);
              resolve();
            };
            extract.on('drain', done);
            extract.on('close', done);
          });
          if (extract.destroyed) throw new Error('layer extraction stopped');
        }
      }
      extract.end(undefined);
    },
    { signal },
  );
  // The entries' side learns of a failure upstream (a corrupt stream, a read error) by the extract's end.
  feeding.catch((err: unknown) => extract.destroy(err as Error));
  try {
    for await (const entry of extract) {
      await writer.entry(entry.header as EntryHeader, entry as AsyncIterable<Uint8Array>);
    }
    await feeding;
  } catch (err) {
    stop.abort();
    extract.destroy();
    await feeding.catch(() => {});
    if (err instanceof LayerPathEscapeError || (err as Error).name === 'AbortError') throw err;
    if (
      (err as NodeJS.ErrnoException).code !== undefined &&
      (err as NodeJS.ErrnoException).syscall !== undefined
    ) {
      throw err;
    }
    throw new InvalidImageError(`corrupt layer: ${(err as Error).message}`, `layer ${opts.layer}`, {
      cause: err,
    });
  }
  await writer.finish();
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== diffId)
    throw new DigestMismatchError(diffId, actual, `uncompressed layer ${opts.layer}`);
  return { size: writer.size };
}
