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

export async function pullImage(
  layout: StoreLayout,
  refText: string,
  opts: PullOptions = {},
): Promise<Image> {
  const ref = parseReference(refText);
  const platform = opts.platform ?? DEFAULT_PLATFORM;
  const credentials = opts.auth ?? (await credentialsFromDockerConfig(ref.domain));
  const client = new RegistryClient(ref, {
    ...(credentials && { credentials }),
    ...(opts.insecureRegistries && { insecureRegistries: opts.insecureRegistries }),
    ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
    ...(opts.signal && { signal: opts.signal }),
  });
  const signal = opts.signal;

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
  const extraBlobs: string[] = [];
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
    fetchLayer: async (layer) => {
      const state = await ingestBlob(layout, layer, (offset) => client.blob(layer.digest, offset), {
        what: `layer of ${ref.normalized}`,
        resumable: true,
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
