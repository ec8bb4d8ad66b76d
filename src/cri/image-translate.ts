/**
 * berth's images as the CRI sees them, and back: the store keeps one record
 * per name, the CRI one image per id with all its names; a CRI AuthConfig as
 * the images layer's credentials; the images layer's errors as gRPC statuses.
 * Pure: no I/O.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { statusFromError, type ErrorStatus } from '../api/translate.js';
import { InvalidArgumentError } from '../runtime/index.js';
import { parseReference } from '../images/reference.js';
import type { Credentials, Image as StoreImage } from '../images/types.js';
import type { AuthConfig, Image as CriImage, ImageSpec } from './generated/api.js';

/** The image a request names: present and not blank, or an INVALID_ARGUMENT naming the RPC. */
export function requestedImage(rpc: string, spec: ImageSpec | undefined): string {
  const image = spec?.image ?? '';
  if (image.trim() === '') {
    throw new InvalidArgumentError(`${rpc}: image spec must name an image (image.image is empty)`);
  }
  if (image.includes('\0') || image.length > 4096) {
    throw new InvalidArgumentError(`${rpc}: image ${JSON.stringify(image)} is not a reference`);
  }
  return image;
}

/** The tag a store name carries (`domain/path:tag`), without a digest; undefined for untagged or by-digest names. */
function repoTag(name: string): string | undefined {
  if (name === '') return undefined;
  try {
    const ref = parseReference(name);
    return ref.tag !== undefined && ref.digest === undefined
      ? `${ref.repository}:${ref.tag}`
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * containerd's reading of the config's User for the CRI: its user part
 * (before `:`); a number is a uid, anything else a user name; none is root.
 */
export function imageUser(user: string | undefined): { uid?: bigint; username: string } {
  const name = (user ?? '').split(':')[0]!;
  if (name === '') return { username: '' };
  if (/^\d+$/.test(name) && BigInt(name) < 2n ** 63n) return { uid: BigInt(name), username: '' };
  return { username: name };
}

/** One CRI image from the store records of one id (every name it goes by). */
export function toCriImage(records: readonly StoreImage[]): CriImage {
  const first = records[0];
  if (!first) throw new RangeError('toCriImage: no records');
  const repoTags = [...new Set(records.map((r) => repoTag(r.name)).filter((t) => t !== undefined))];
  const repoDigests = [...new Set(records.flatMap((r) => r.repoDigests))];
  const { uid, username } = imageUser(first.config.config?.User);
  return {
    id: first.id,
    repoTags: repoTags.sort(),
    repoDigests: repoDigests.sort(),
    size: BigInt(Math.max(0, Math.trunc(first.size))),
    uid: uid === undefined ? undefined : { value: uid },
    username,
    spec: { image: first.id, annotations: {} },
    pinned: false,
  };
}

/** The store's records grouped into CRI images, one per id, in the store's order. */
export function groupById(records: readonly StoreImage[]): StoreImage[][] {
  const groups = new Map<string, StoreImage[]>();
  for (const record of records) {
    const group = groups.get(record.id);
    if (group) group.push(record);
    else groups.set(record.id, [record]);
  }
  return [...groups.values()];
}

/** ImageStatus's verbose `info`: what the image is made of, as JSON (crictl inspecti prints it). */
export function verboseInfo(records: readonly StoreImage[]): Record<string, string> {
  const first = records[0]!;
  return {
    info: JSON.stringify({
      id: first.id,
      names: records.map((r) => r.name).filter((n) => n !== ''),
      manifestDigest: first.digest,
      layers: first.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, size: l.size })),
      imageSpec: first.config,
    }),
  };
}

/** The host a CRI server_address names (`host[:port]`, with or without a scheme and path). */
function serverHost(address: string): string {
  const withoutScheme = address.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  return withoutScheme.split('/')[0]!.toLowerCase();
}

/** Hosts a registry answers as (docker.io's credentials are keyed under several). */
function sameRegistry(domain: string, host: string): boolean {
  const dockerHub = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];
  return domain === host || (dockerHub.includes(domain) && dockerHub.includes(host));
}

/**
 * The credentials a PullImage request carries for `reference`'s registry;
 * undefined when it carries none, or carries them for another registry
 * (server_address set to another host: they are not sent elsewhere).
 */
export function credentialsFor(
  reference: string,
  auth: AuthConfig | undefined,
): Credentials | undefined {
  if (!auth) return undefined;
  if (auth.serverAddress !== '') {
    if (!sameRegistry(parseReference(reference).domain, serverHost(auth.serverAddress)))
      return undefined;
  }
  // A bearer token for the registry itself needs no exchange: it wins over what would be exchanged.
  if (auth.registryToken !== '') return { registryToken: auth.registryToken };
  if (auth.identityToken !== '') return { identityToken: auth.identityToken };
  if (auth.username !== '') return { username: auth.username, password: auth.password };
  if (auth.auth !== '') {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new InvalidArgumentError('PullImage: auth.auth must be base64 of "username:password"');
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** gRPC statuses for the images layer's error codes; the message is kept as it is. */
const IMAGE_STATUS_BY_CODE: Readonly<Record<string, GrpcStatus>> = {
  ERR_IMAGE_INVALID_REFERENCE: GrpcStatus.INVALID_ARGUMENT,
  ERR_IMAGE_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_IMAGE_PLATFORM_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ERR_IMAGE_REGISTRY: GrpcStatus.UNAVAILABLE,
  ERR_IMAGE_REGISTRY_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ERR_IMAGE_REGISTRY_AUTH: GrpcStatus.UNAUTHENTICATED,
  ERR_IMAGE_DIGEST_MISMATCH: GrpcStatus.DATA_LOSS,
  ERR_IMAGE_SIZE_MISMATCH: GrpcStatus.DATA_LOSS,
  ERR_IMAGE_UNSUPPORTED_MEDIA_TYPE: GrpcStatus.FAILED_PRECONDITION,
  ERR_IMAGE_LAYER_PATH_ESCAPE: GrpcStatus.FAILED_PRECONDITION,
  ERR_IMAGE_INVALID: GrpcStatus.FAILED_PRECONDITION,
  ERR_IMAGE_IN_USE: GrpcStatus.FAILED_PRECONDITION,
  ERR_IMAGE_STORE: GrpcStatus.INTERNAL,
};

/** An ImageService error as the status the client gets. */
export function imageStatusFromError(err: unknown): ErrorStatus {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: GrpcStatus.CANCELLED, details: message, internal: false };
  }
  if (typeof code === 'string' && code in IMAGE_STATUS_BY_CODE) {
    const status = (err as { status?: unknown }).status;
    const errno = (err as { errno?: unknown }).errno;
    let mapped = IMAGE_STATUS_BY_CODE[code]!;
    if (code === 'ERR_IMAGE_REGISTRY_AUTH' && status === 403) mapped = GrpcStatus.PERMISSION_DENIED;
    if (code === 'ERR_IMAGE_STORE' && errno === 'ENOSPC') mapped = GrpcStatus.RESOURCE_EXHAUSTED;
    return { code: mapped, details: message, internal: mapped === GrpcStatus.INTERNAL };
  }
  return statusFromError(err);
}
