/** Every path of the image store, from its root. Digests are checked before they become paths. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { InvalidImageError } from './errors.js';
import { isSha256Digest } from './reference.js';

export const DEFAULT_STORE_ROOT = '/var/lib/berth';

/** The hex of a `sha256:<hex>` digest, refusing anything else (it becomes a file name). */
export function digestHex(digest: string, source = 'digest'): string {
  if (typeof digest !== 'string' || !isSha256Digest(digest)) {
    throw new InvalidImageError(`not a sha256 digest: ${JSON.stringify(digest)}`, source);
  }
  return digest.slice('sha256:'.length);
}

export function sha256Digest(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export class StoreLayout {
  constructor(readonly root: string) {}
  get blobsDir(): string {
    return join(this.root, 'blobs', 'sha256');
  }
  get ingestDir(): string {
    return join(this.root, 'ingest');
  }
  get layersDir(): string {
    return join(this.root, 'layers', 'sha256');
  }
  /** Layers being unpacked; renamed into layersDir when complete, never read from here. */
  get layersTmpDir(): string {
    return join(this.root, 'layers', 'tmp');
  }
  get imagesDir(): string {
    return join(this.root, 'images');
  }
  get containersDir(): string {
    return join(this.root, 'containers');
  }
  get lockFile(): string {
    return join(this.root, 'lock');
  }
  blob(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }
  partial(digest: string): string {
    return join(this.ingestDir, `${digestHex(digest)}.partial`);
  }
  layer(chainId: string): string {
    return join(this.layersDir, digestHex(chainId, 'chain id'));
  }
  layerFs(chainId: string): string {
    return join(this.layer(chainId), 'fs');
  }
  /** `{ size, diffId }` of an unpacked layer, written before the rename that publishes it. */
  layerInfo(chainId: string): string {
    return join(this.layer(chainId), 'layer.json');
  }
  /** Records are named by a hash of the image name (names hold '/' and ':'); untagged ones by their id. */
  record(key: string): string {
    return join(this.imagesDir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }
}
