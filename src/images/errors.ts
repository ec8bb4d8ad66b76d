/**
 * Typed errors of the images layer. Every one has a stable `code` starting
 * with ERR_IMAGE_ and names what failed and where (a reference, a digest, a
 * URL or a path), so that the CLI and berthd can report it as it is.
 */
import { BerthError } from '../runtime/index.js';

export abstract class ImageError extends BerthError {}

/** A reference that docker's grammar refuses (bad name, tag or digest). */
export class InvalidReferenceError extends ImageError {
  readonly code: string = 'ERR_IMAGE_INVALID_REFERENCE';
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`invalid reference "${reference}": ${reason}`);
  }
}

/** No image in the store (or no manifest, tag or blob in a registry or archive) by that reference. */
export class ImageNotFoundError extends ImageError {
  readonly code: string = 'ERR_IMAGE_NOT_FOUND';
  constructor(
    readonly reference: string,
    where = 'in the image store',
    options?: ErrorOptions,
  ) {
    super(`image "${reference}" not found ${where}`, options);
  }
}

/** Content whose hash is not the digest it was asked for by. */
export class DigestMismatchError extends ImageError {
  readonly code: string = 'ERR_IMAGE_DIGEST_MISMATCH';
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly source: string,
  ) {
    super(`digest mismatch for ${source}: expected ${expected}, got ${actual}`);
  }
}

/** Content longer or shorter than its descriptor says (a truncated or padded blob). */
export class SizeMismatchError extends ImageError {
  readonly code: string = 'ERR_IMAGE_SIZE_MISMATCH';
  constructor(
    readonly expected: number,
    readonly actual: number,
    readonly source: string,
  ) {
    super(`size mismatch for ${source}: expected ${expected} bytes, got ${actual}`);
  }
}

/** A registry that answered with an error status, dropped the connection, or could not be reached. */
export class RegistryError extends ImageError {
  readonly code: string = 'ERR_IMAGE_REGISTRY';
  constructor(
    message: string,
    /** The HTTP status, 0 when there was no answer. */
    readonly status: number,
    readonly url: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A registry that did not answer in time. */
export class RegistryTimeoutError extends RegistryError {
  override readonly code: string = 'ERR_IMAGE_REGISTRY_TIMEOUT';
  constructor(url: string, timeoutMs: number) {
    super(`registry did not answer within ${timeoutMs} ms: ${url}`, 0, url);
  }
}

/** A registry (or its token server) that refused the credentials, or wanted some and got none. */
export class RegistryAuthError extends RegistryError {
  override readonly code: string = 'ERR_IMAGE_REGISTRY_AUTH';
}

/** A manifest list / index with no manifest for the platform asked for. */
export class PlatformNotFoundError extends ImageError {
  readonly code: string = 'ERR_IMAGE_PLATFORM_NOT_FOUND';
  constructor(
    readonly reference: string,
    readonly platform: string,
    readonly available: string[],
  ) {
    super(
      `no manifest for platform ${platform} in ${reference} (has: ${available.join(', ') || 'none'})`,
    );
  }
}

/** A manifest, config or layer media type berth does not read (schema 1, foreign artifacts, unknown compression). */
export class UnsupportedMediaTypeError extends ImageError {
  readonly code: string = 'ERR_IMAGE_UNSUPPORTED_MEDIA_TYPE';
  constructor(
    readonly mediaType: string,
    readonly source: string,
  ) {
    super(`unsupported media type "${mediaType}" for ${source}`);
  }
}

/** A layer entry that would land outside its layer dir (`..`, an absolute path through a symlink, a hard link out). */
export class LayerPathEscapeError extends ImageError {
  readonly code: string = 'ERR_IMAGE_LAYER_PATH_ESCAPE';
  constructor(
    readonly layer: string,
    readonly entry: string,
    reason: string,
  ) {
    super(`layer ${layer}: entry "${entry}" ${reason}`);
  }
}

/** An image a container's rootfs still uses (remove without force). */
export class ImageInUseError extends ImageError {
  readonly code: string = 'ERR_IMAGE_IN_USE';
  constructor(
    readonly reference: string,
    readonly containers: string[],
  ) {
    super(`image "${reference}" is used by container(s) ${containers.join(', ')}`);
  }
}

/** Malformed image content: a manifest, config, index or archive that does not parse or lacks what it must have. */
export class InvalidImageError extends ImageError {
  readonly code: string = 'ERR_IMAGE_INVALID';
  constructor(
    message: string,
    readonly source: string,
    options?: ErrorOptions,
  ) {
    super(`${source}: ${message}`, options);
  }
}

/** The store's files could not be read or written (a full disk, permissions, a lock never freed). */
export class StoreError extends ImageError {
  readonly code: string = 'ERR_IMAGE_STORE';
  constructor(
    message: string,
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  /** The system error code behind it (e.g. ENOSPC), if any. */
  get errno(): string | undefined {
    const cause = this.cause as NodeJS.ErrnoException | undefined;
    return typeof cause?.code === 'string' ? cause.code : undefined;
  }
}

/** Wraps a filesystem error as a StoreError naming the operation and path; typed image errors pass through. */
export function storeError(operation: string, path: string, err: unknown): Error {
  if (err instanceof ImageError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail =
    code === 'ENOSPC' ? 'no space left on device' : String((err as Error)?.message ?? err);
  return new StoreError(`image store: ${operation} ${path}: ${detail}`, path, { cause: err });
}
