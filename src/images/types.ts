/** The images layer's public types: references, images as stored, pull options. */

/** A parsed, normalized image reference (docker's rules). */
export interface Reference {
  /** Registry host[:port], e.g. `docker.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path, e.g. `library/busybox`. */
  path: string;
  /** `domain/path`. */
  repository: string;
  tag?: string;
  /** `sha256:<hex>` when pulled by digest. */
  digest?: string;
  /** The normalized form: `domain/path:tag`, `domain/path@digest` or `domain/path:tag@digest`. */
  normalized: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Credentials for one registry: a user and password (or identity token, or registry token). */
export interface Credentials {
  username?: string;
  password?: string;
  /** A refresh token (docker's `identitytoken`), exchanged at the token server. */
  identityToken?: string;
  /** A bearer token for the registry itself (the CRI's `registry_token`): sent as it is, no token server asked. */
  registryToken?: string;
}

export interface PullProgress {
  /** What is being fetched: `manifest`, `config` or `layer`. */
  kind: 'manifest' | 'config' | 'layer';
  digest: string;
  /** Bytes verified so far (including those resumed from an earlier pull). */
  current: number;
  total: number;
  /** `resumed` when a verified .partial was continued, `exists` when the blob was already stored. */
  state: 'downloading' | 'exists' | 'resumed' | 'verified' | 'unpacked';
}

export interface PullOptions {
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
  /** Credentials for the reference's registry; else `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`) auths. */
  auth?: Credentials;
  /** Default linux/amd64 (this machine's). */
  platform?: Platform;
  /** Registries (host[:port]) reached over plain HTTP; 127.0.0.0/8 and localhost always are. */
  insecureRegistries?: string[];
  /** Per-request time limit in ms for a registry to start answering or to send more bytes (default 30 s). */
  timeoutMs?: number;
  /** Layers fetched at once (default 3). */
  concurrency?: number;
}

export interface ImportOptions {
  signal?: AbortSignal;
  /** Name to give the image(s) when the source carries none (an OCI layout without ref names). */
  name?: string;
}

/** The OCI image config (https://github.com/opencontainers/image-spec/blob/main/config.md), the fields berth reads. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: {
    created?: string;
    created_by?: string;
    comment?: string;
    empty_layer?: boolean;
  }[];
}

export interface ImageLayer {
  /** Digest of the blob as stored (compressed). */
  digest: string;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string;
  /** `sha256:<hex>` chain id: names the unpacked layer dir. */
  chainId: string;
  /** Compressed size in bytes. */
  size: number;
  mediaType: string;
}

export interface Image {
  /** Normalized reference, e.g. docker.io/library/busybox:latest ('' when imported untagged). */
  name: string;
  /** `sha256:<config digest hex>`. */
  id: string;
  /** The manifest's digest. */
  digest: string;
  /** e.g. docker.io/library/busybox@sha256:... */
  repoDigests: string[];
  /** Unpacked size of its layers, in bytes. */
  size: number;
  config: ImageConfig;
  layers: ImageLayer[];
  created?: string;
}
