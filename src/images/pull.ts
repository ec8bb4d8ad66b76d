/**
 * Pulling from a registry: the manifest (by tag or digest; an index is
 * resolved to the platform's manifest), the config, then the layers, several
 * at once, each verified while it streams and resumed from its .partial.
 */
import { credentialsFromDockerConfig } from './auth.js';
import { ingestBlob, putBlob, verifyBytes } from './blobs.js';
import { InvalidImageError } from './errors.js';
import { installImage } from './install.js';
import type { StoreLayout } from './layout.js';
import { sha256Digest } from './layout.js';
import {
  checkConfigPlatform,
  DEFAULT_PLATFORM,
  parseManifest,
  selectPlatform,
} from './manifest.js';
import { parseReference } from './reference.js';
import { RegistryClient } from './registry.js';
import type { Image, PullOptions } from './types.js';

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Runs `fn` holding the store's lock (the store's `withLock`). */
export type StoreLocker = <T>(fn: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/**
 * Pulls `refText` into the store. What needs no store (credentials, the
 * manifest, the config: fetched whole and verified) is asked for while the
 * lock is being taken; everything that writes the store runs under it.
 */
export async function pullImage(
  layout: StoreLayout,
  refText: string,
  opts: PullOptions,
  withLock: StoreLocker,
): Promise<Image> {
  // The lock's wait ends early when resolving fails: its error is the one to report.
  const resolveFailed = new AbortController();
  const resolving = resolvePull(refText, opts);
  resolving.catch((err: unknown) => resolveFailed.abort(err));
  const lockSignal = opts.signal
    ? AbortSignal.any([opts.signal, resolveFailed.signal])
    : resolveFailed.signal;
  try {
    return await withLock(async () => installPulled(layout, await resolving, opts), lockSignal);
  } catch (err) {
    if (resolveFailed.signal.aborted && err === resolveFailed.signal.reason) throw err;
    // A lock failure while resolving also failed: the resolve's error says more.
    await resolving;
    throw err;
  }
}

type Resolved = Awaited<ReturnType<typeof resolvePull>>;

/** The network half of a pull: the manifest (an index resolved to the platform's) and the config, verified. */
async function resolvePull(refText: string, opts: PullOptions) {
  const ref = parseReference(refText);
  const platform = opts.platform ?? DEFAULT_PLATFORM;
  const credentials = opts.auth ?? (await credentialsFromDockerConfig(ref.domain));
  const client = new RegistryClient(ref, {
    ...(credentials && { credentials }),
    ...(opts.insecureRegistries && { insecureRegistries: opts.insecureRegistries }),
    ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
    ...(opts.signal && { signal: opts.signal }),
  });
  const fetchManifest = async (reference: string, expected?: { digest: string; size?: number }) => {
    const answer = await client.manifest(reference);
    const digest = expected?.digest ?? sha256Digest(answer.bytes);
    verifyBytes(
      answer.bytes,
      { digest, ...(expected?.size !== undefined && { size: expected.size }) },
      `manifest ${client.base}/manifests/${reference}`,
    );
    if (!expected && answer.digest && answer.digest !== digest) {
      throw new InvalidImageError(
        `registry says digest ${answer.digest}, content hashes to ${digest}`,
        `manifest ${ref.normalized}`,
      );
    }
    opts.onProgress?.({
      kind: 'manifest',
      digest,
      current: answer.bytes.length,
      total: answer.bytes.length,
      state: 'verified',
    });
    return {
      ...answer,
      digest,
      parsed: parseManifest(answer.bytes, `manifest ${ref.normalized}`, answer.contentType),
    };
  };

  const top = await fetchManifest(
    ref.digest ?? ref.tag!,
    ref.digest ? { digest: ref.digest } : undefined,
  );
  let manifest = top;
  if (top.parsed.kind === 'index') {
    const entry = selectPlatform(top.parsed, platform, ref.normalized);
    manifest = await fetchManifest(entry.digest, entry);
    if (manifest.parsed.kind !== 'manifest') {
      throw new InvalidImageError(
        'index entry for the platform is itself an index',
        `manifest ${entry.digest}`,
      );
    }
  }
  const parsed = manifest.parsed;
  if (parsed.kind !== 'manifest')
    throw new InvalidImageError('not an image manifest', `manifest ${ref.normalized}`);

  const configBytes = await readAll((await client.blob(parsed.config.digest, 0)).body);
  verifyBytes(configBytes, parsed.config, `config of ${ref.normalized}`);
  opts.onProgress?.({
    kind: 'config',
    digest: parsed.config.digest,
    current: configBytes.length,
    total: configBytes.length,
    state: 'verified',
  });
  return { ref, client, top, manifest, parsed, configBytes, platform };
}

/** The store half of a pull, under the lock: layers fetched and unpacked, then the records. */
async function installPulled(
  layout: StoreLayout,
  resolved: Resolved,
  opts: PullOptions,
): Promise<Image> {
  const { ref, client, top, manifest, parsed, configBytes, platform } = resolved;
  const signal = opts.signal;
  const extraBlobs: string[] = [];
  if (top !== manifest) {
    // The index is kept too: the repo digest names it.
    await putBlob(
      layout,
      { digest: top.digest, size: top.bytes.length },
      top.bytes,
      `index of ${ref.normalized}`,
    );
    extraBlobs.push(top.digest);
  }
  const name = ref.tag !== undefined ? `${ref.repository}:${ref.tag}` : '';
  const images = await installImage(layout, {
    reference: ref.normalized,
    manifest: { bytes: manifest.bytes, digest: manifest.digest, mediaType: parsed.mediaType },
    config: { bytes: configBytes, digest: parsed.config.digest },
    layers: parsed.layers,
    names: [name],
    // docker names the digest that was pulled: the index's when there was one.
    repoDigests: [`${ref.repository}@${top.digest}`],
    extraBlobs,
    checkConfig: (config) => checkConfigPlatform(config, platform, ref.normalized),
    concurrency: opts.concurrency ?? 3,
    ...(signal && { signal }),
    ...(opts.onProgress && { onProgress: opts.onProgress }),
    teesLayers: true,
    fetchLayer: async (layer, _index, tee) => {
      const state = await ingestBlob(layout, layer, (offset) => client.blob(layer.digest, offset), {
        what: `layer of ${ref.normalized}`,
        resumable: true,
        tee,
        ...(signal && { signal }),
        onBytes: (current, resumed) =>
          opts.onProgress?.({
            kind: 'layer',
            digest: layer.digest,
            current,
            total: layer.size,
            state: resumed ? 'resumed' : 'downloading',
          }),
      });
      opts.onProgress?.({
        kind: 'layer',
        digest: layer.digest,
        current: layer.size,
        total: layer.size,
        state: state === 'exists' ? 'exists' : 'verified',
      });
    },
  });
  return images[0]!;
}
