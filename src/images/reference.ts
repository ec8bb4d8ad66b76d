/**
 * Image references, normalized as docker does (distribution/reference's
 * ParseNormalizedNamed + TagNameOnly): `busybox` is
 * `docker.io/library/busybox:latest`.
 */
import { InvalidReferenceError } from './errors.js';
import type { Reference } from './types.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]+$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const HEX64 = /^[a-f0-9]{64}$/;

/** True for `sha256:<64 lowercase hex>`, the only digest algorithm berth stores. */
export function isSha256Digest(value: string): boolean {
  return SHA256_DIGEST.test(value);
}

function validDomain(domain: string): boolean {
  let host = domain;
  const portAt = domain.startsWith('[') ? domain.indexOf(']:') + 1 : domain.lastIndexOf(':');
  if (portAt > 0) {
    if (!PORT.test(domain.slice(portAt + 1))) return false;
    host = domain.slice(0, portAt);
  }
  if (IPV6_HOST.test(host)) return true;
  return host.split('.').every((part) => DOMAIN_COMPONENT.test(part));
}

export function parseReference(ref: string): Reference {
  if (typeof ref !== 'string' || ref === '') throw new InvalidReferenceError(String(ref), 'empty');
  if (HEX64.test(ref)) {
    throw new InvalidReferenceError(ref, 'cannot specify 64-byte hexadecimal strings');
  }
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(ref, 'invalid digest format');
    if (digest.startsWith('sha256:') && !isSha256Digest(digest)) {
      throw new InvalidReferenceError(ref, 'invalid sha256 digest (64 lowercase hex expected)');
    }
    if (!digest.startsWith('sha256:')) {
      throw new InvalidReferenceError(ref, 'unsupported digest algorithm (sha256 only)');
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(ref, `invalid tag "${tag}"`);
  }
  if (rest === '') throw new InvalidReferenceError(ref, 'empty repository name');

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // docker's rule: the first component is a registry when it looks like a host (has '.' or ':', is
    // localhost, or has uppercase letters, which a repository path cannot).
    if (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!validDomain(domain))
        throw new InvalidReferenceError(ref, `invalid registry "${domain}"`);
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  if (path.toLowerCase() !== path) {
    throw new InvalidReferenceError(ref, 'repository name must be lowercase');
  }
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw new InvalidReferenceError(ref, `invalid repository path component "${component}"`);
    }
  }
  const repository = `${domain}/${path}`;
  if (repository.length > NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidReferenceError(ref, `repository name longer than ${NAME_TOTAL_LENGTH_MAX}`);
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const normalized =
    repository + (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '');
  return {
    domain,
    path,
    repository,
    ...(tag !== undefined && { tag }),
    ...(digest !== undefined && { digest }),
    normalized,
  };
}

/** The host a registry domain is reached at (docker.io's API lives at registry-1.docker.io). */
export function registryHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : domain;
}
