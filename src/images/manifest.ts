/** Manifests and indexes (Docker v2 schema 2, OCI): media types, checks, and platform selection. */
import { InvalidImageError, PlatformNotFoundError, UnsupportedMediaTypeError } from './errors.js';
import { isSha256Digest } from './reference.js';
import type { Descriptor } from './blobs.js';
import type { ImageConfig, Platform } from './types.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerTar: 'application/vnd.docker.image.rootfs.diff.tar',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
} as const;

/** What a registry is asked for, best first. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(', ');

const LAYER_MEDIA_TYPES = new Set([
  MEDIA_TYPES.dockerLayerGzip,
  MEDIA_TYPES.dockerLayerTar,
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);
const CONFIG_MEDIA_TYPES = new Set<string>([MEDIA_TYPES.dockerConfig, MEDIA_TYPES.ociConfig]);

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

export interface IndexEntry extends Descriptor {
  platform?: Platform;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | {
      kind: 'index';
      mediaType: string;
      manifests: IndexEntry[];
      annotations?: Record<string, string>;
    }
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] };

function descriptor(value: unknown, source: string): Descriptor {
  const d = value as Descriptor | undefined;
  if (!d || typeof d !== 'object' || typeof d.digest !== 'string' || !isSha256Digest(d.digest)) {
    throw new InvalidImageError(
      `descriptor without a sha256 digest: ${JSON.stringify(value)}`,
      source,
    );
  }
  if (!Number.isSafeInteger(d.size) || d.size < 0) {
    throw new InvalidImageError(`descriptor ${d.digest} without a valid size`, source);
  }
  return {
    digest: d.digest,
    size: d.size,
    ...(typeof d.mediaType === 'string' && { mediaType: d.mediaType }),
  };
}

/** Parses manifest bytes; `contentType` is the registry's Content-Type, when there was one. */
export function parseManifest(
  bytes: Uint8Array,
  source: string,
  contentType?: string,
): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidImageError('manifest is not JSON', source, { cause: err });
  }
  if (!json || typeof json !== 'object')
    throw new InvalidImageError('manifest is not an object', source);
  if (json.schemaVersion === 1) {
    throw new UnsupportedMediaTypeError(
      'application/vnd.docker.distribution.manifest.v1+json',
      source,
    );
  }
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const type = declared ?? contentType?.split(';')[0]?.trim() ?? '';
  const isIndex =
    type === MEDIA_TYPES.ociIndex ||
    type === MEDIA_TYPES.dockerManifestList ||
    (!declared && Array.isArray(json.manifests));
  if (isIndex) {
    if (!Array.isArray(json.manifests))
      throw new InvalidImageError('index without manifests', source);
    const manifests = json.manifests.map((entry: unknown) => {
      const base = descriptor(entry, source);
      const e = entry as IndexEntry;
      return {
        ...base,
        ...(e.platform && typeof e.platform === 'object' && { platform: e.platform }),
        ...(e.annotations && typeof e.annotations === 'object' && { annotations: e.annotations }),
      };
    });
    return {
      kind: 'index',
      mediaType: type || MEDIA_TYPES.ociIndex,
      manifests,
      ...(json.annotations !== undefined && {
        annotations: json.annotations as Record<string, string>,
      }),
    };
  }
  const isManifest =
    type === MEDIA_TYPES.ociManifest ||
    type === MEDIA_TYPES.dockerManifest ||
    (!declared && 'config' in json);
  if (!isManifest) throw new UnsupportedMediaTypeError(type || '(none)', source);
  const config = descriptor(json.config, source);
  if (config.mediaType !== undefined && !CONFIG_MEDIA_TYPES.has(config.mediaType)) {
    throw new UnsupportedMediaTypeError(config.mediaType, `config of ${source}`);
  }
  if (!Array.isArray(json.layers)) throw new InvalidImageError('manifest without layers', source);
  const layers = json.layers.map((layer: unknown) => descriptor(layer, source));
  for (const layer of layers) {
    if (layer.mediaType !== undefined && !LAYER_MEDIA_TYPES.has(layer.mediaType)) {
      throw new UnsupportedMediaTypeError(layer.mediaType, `layer ${layer.digest} of ${source}`);
    }
  }
  return { kind: 'manifest', mediaType: type || MEDIA_TYPES.ociManifest, config, layers };
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function matches(candidate: Platform | undefined, wanted: Platform): boolean {
  if (!candidate) return false;
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  return wanted.variant === undefined || candidate.variant === wanted.variant;
}

/** The index entry for `platform` (attestation manifests, platform unknown/unknown, never match). */
export function selectPlatform(
  index: Extract<ParsedManifest, { kind: 'index' }>,
  platform: Platform,
  reference: string,
): IndexEntry {
  const found = index.manifests.find((entry) => matches(entry.platform, platform));
  if (found) return found;
  throw new PlatformNotFoundError(
    reference,
    platformString(platform),
    index.manifests.flatMap((entry) => (entry.platform ? [platformString(entry.platform)] : [])),
  );
}

/** Parses and checks an image config against its manifest's layers. */
export function parseConfig(bytes: Uint8Array, layerCount: number, source: string): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(Buffer.from(bytes).toString('utf8')) as ImageConfig;
  } catch (err) {
    throw new InvalidImageError('config is not JSON', source, { cause: err });
  }
  const diffIds = config?.rootfs?.diff_ids;
  if (
    !Array.isArray(diffIds) ||
    !diffIds.every((id) => typeof id === 'string' && isSha256Digest(id))
  ) {
    throw new InvalidImageError('config without sha256 rootfs.diff_ids', source);
  }
  if (diffIds.length !== layerCount) {
    throw new InvalidImageError(
      `config has ${diffIds.length} diff ids for ${layerCount} layers`,
      source,
    );
  }
  return config;
}

export function checkConfigPlatform(
  config: ImageConfig,
  platform: Platform,
  reference: string,
): void {
  const actual = {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant && { variant: config.variant }),
  };
  if (!matches(actual, platform)) {
    throw new PlatformNotFoundError(reference, platformString(platform), [platformString(actual)]);
  }
}
