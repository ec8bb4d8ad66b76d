/**
 * One repository of an OCI distribution registry, over Node's fetch: the
 * auth challenge (bearer tokens from the registry's token server, or basic),
 * manifests, and blob bodies from an offset (HTTP Range), each request
 * bounded by a time limit while waiting for an answer and between chunks.
 */
import { isIP } from 'node:net';
import {
  ImageNotFoundError,
  RegistryAuthError,
  RegistryError,
  RegistryTimeoutError,
  InvalidImageError,
} from './errors.js';
import { basicAuthorization, parseChallenge } from './auth.js';
import { registryHost } from './reference.js';
import type { Credentials, Reference } from './types.js';
import { MANIFEST_ACCEPT } from './manifest.js';
import { once } from './blobs.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
/** Manifests are read whole; anything bigger is not a manifest. */
const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

/** Plain HTTP only for registries named insecure, and loopback ones. */
export function isInsecure(domain: string, insecureRegistries: string[] = []): boolean {
  if (insecureRegistries.includes(domain)) return true;
  const host = domain.startsWith('[')
    ? domain.slice(1, domain.indexOf(']'))
    : domain.split(':')[0]!;
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export interface RegistryOptions {
  credentials?: Credentials;
  insecureRegistries?: string[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class RegistryClient {
  readonly base: string;
  #authorization: string | undefined;
  readonly #timeoutMs: number;

  constructor(
    readonly ref: Reference,
    readonly options: RegistryOptions = {},
  ) {
    const scheme = isInsecure(ref.domain, options.insecureRegistries) ? 'http' : 'https';
    this.base = `${scheme}://${registryHost(ref.domain)}/v2/${ref.path}`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const registryToken = options.credentials?.registryToken;
    if (registryToken) this.#authorization = `Bearer ${registryToken}`;
  }

  /**
   * One request, with a time limit until the answer's headers; on 401 it
   * answers the challenge once and asks again.
   */
  async #request(url: string, headers: Record<string, string>, idle: IdleTimer): Promise<Response> {
    // A registry token is the whole answer: a 401 to it is a refusal, no challenge to answer.
    let answered = Boolean(this.options.credentials?.registryToken);
    for (;;) {
      const response = await this.#fetch(
        url,
        {
          headers: {
            ...headers,
            ...(this.#authorization && { authorization: this.#authorization }),
          },
        },
        idle,
      );
      if (response.status !== 401 || answered) {
        if (response.status === 401 || response.status === 403) {
          await response.body?.cancel().catch(() => {});
          throw new RegistryAuthError(
            `registry refused access (${response.status}) to ${url}${this.options.credentials ? '' : ' (no credentials given or found)'}`,
            response.status,
            url,
          );
        }
        return response;
      }
      answered = true;
      const challenge = response.headers.get('www-authenticate') ?? '';
      await response.body?.cancel().catch(() => {});
      this.#authorization = await this.#answer(challenge, url, idle);
    }
  }

  async #fetch(url: string, init: RequestInit, idle: IdleTimer): Promise<Response> {
    idle.arm();
    try {
      return await fetch(url, { ...init, signal: idle.signal, redirect: 'follow' });
    } catch (err) {
      throw idle.translate(err, url);
    } finally {
      idle.disarm();
    }
  }

  async #answer(header: string, url: string, idle: IdleTimer): Promise<string> {
    const challenge = parseChallenge(header);
    const credentials = this.options.credentials;
    if (challenge?.scheme === 'basic') {
      if (!credentials?.username)
        throw new RegistryAuthError(`registry wants credentials for ${url}`, 401, url);
      return basicAuthorization(credentials);
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RegistryAuthError(
        `registry answered 401 with no usable challenge (${header || 'none'})`,
        401,
        url,
      );
    }
    const { realm, service, scope } = challenge.params;
    const tokenUrl = new URL(realm);
    if (service) tokenUrl.searchParams.set('service', service);
    tokenUrl.searchParams.set('scope', scope ?? `repository:${this.ref.path}:pull`);
    let response: Response;
    if (credentials?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        service: service ?? '',
        scope: scope ?? `repository:${this.ref.path}:pull`,
        client_id: 'berth',
      });
      idle.arm();
      try {
        response = await fetch(realm, { method: 'POST', body: form, signal: idle.signal });
      } catch (err) {
        throw idle.translate(err, realm);
      } finally {
        idle.disarm();
      }
    } else {
      response = await this.#fetch(
        tokenUrl.href,
        {
          headers: credentials?.username ? { authorization: basicAuthorization(credentials) } : {},
        },
        idle,
      );
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new RegistryAuthError(
        `token server refused (${response.status}): ${tokenUrl.href}`,
        response.status,
        tokenUrl.href,
      );
    }
    const body = (await response.json().catch(() => ({}))) as {
      token?: string;
      access_token?: string;
    };
    const token = body.token ?? body.access_token;
    if (!token)
      throw new RegistryAuthError(
        `token server answered no token: ${tokenUrl.href}`,
        response.status,
        tokenUrl.href,
      );
    return `Bearer ${token}`;
  }

  /** A manifest by tag or digest: its bytes, Content-Type and the registry's digest header. */
  async manifest(
    reference: string,
  ): Promise<{ bytes: Uint8Array; contentType?: string; digest?: string }> {
    const url = `${this.base}/manifests/${reference}`;
    const idle = new IdleTimer(this.#timeoutMs, this.options.signal);
    const response = await this.#request(url, { accept: MANIFEST_ACCEPT }, idle);
    if (response.status === 404) {
      await response.body?.cancel().catch(() => {});
      throw new ImageNotFoundError(
        `${this.ref.repository}:${reference}`,
        `in registry (404 from ${url})`,
        {
          cause: new RegistryError('not found', 404, url),
        },
      );
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new RegistryError(
        `registry answered ${response.status} for ${url}`,
        response.status,
        url,
      );
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MANIFEST_MAX_BYTES) {
      await response.body?.cancel().catch(() => {});
      throw new InvalidImageError(`manifest of ${declared} bytes is too large`, url);
    }
    const chunks: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of idle.body(response, url)) {
      length += chunk.length;
      if (length > MANIFEST_MAX_BYTES) throw new InvalidImageError('manifest too large', url);
      chunks.push(chunk);
    }
    return {
      bytes: Buffer.concat(chunks),
      ...(response.headers.get('content-type') && {
        contentType: response.headers.get('content-type')!,
      }),
      ...(response.headers.get('docker-content-digest') && {
        digest: response.headers.get('docker-content-digest')!,
      }),
    };
  }

  /** A blob's bytes from `offset`; `offset` in the answer is 0 when the registry ignored the Range. */
  async blob(
    digest: string,
    offset: number,
  ): Promise<{ body: AsyncIterable<Uint8Array>; offset: number }> {
    const url = `${this.base}/blobs/${digest}`;
    const idle = new IdleTimer(this.#timeoutMs, this.options.signal);
    const response = await this.#request(
      url,
      offset > 0 ? { range: `bytes=${offset}-` } : {},
      idle,
    );
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      if (response.status === 416) return { body: once(new Uint8Array(0)), offset };
      throw new RegistryError(
        `registry answered ${response.status} for blob ${url}`,
        response.status,
        url,
      );
    }
    let start = 0;
    if (response.status === 206) {
      const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
      start = range ? Number(range[1]) : -1;
      if (start !== offset) {
        await response.body?.cancel().catch(() => {});
        throw new RegistryError(`registry answered a range other than asked for ${url}`, 206, url);
      }
    }
    return { body: idle.body(response, url), offset: start };
  }
}

/**
 * A time limit that restarts with each sign of life (answer headers, a
 * chunk), joined with the caller's signal: a registry that hangs fails with
 * RegistryTimeoutError, one cut short by the caller with the caller's reason.
 */
class IdleTimer {
  readonly #controller = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #timedOut = false;
  readonly signal: AbortSignal;

  constructor(
    readonly timeoutMs: number,
    readonly outer?: AbortSignal,
  ) {
    this.signal = outer
      ? AbortSignal.any([outer, this.#controller.signal])
      : this.#controller.signal;
  }

  arm(): void {
    this.disarm();
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort();
    }, this.timeoutMs);
  }

  disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  translate(err: unknown, url: string): Error {
    if (this.outer?.aborted)
      return this.outer.reason instanceof Error
        ? this.outer.reason
        : new Error(String(this.outer.reason));
    if (this.#timedOut) return new RegistryTimeoutError(url, this.timeoutMs);
    if (err instanceof RegistryError) return err;
    const cause = (err as Error & { cause?: Error }).cause;
    return new RegistryError(
      `registry connection failed for ${url}: ${cause?.message ?? (err as Error).message}`,
      0,
      url,
      { cause: err },
    );
  }

  async *body(response: Response, url: string): AsyncGenerator<Uint8Array> {
    if (!response.body) return;
    const reader = response.body.getReader();
    try {
      for (;;) {
        this.arm();
        let result: Awaited<ReturnType<typeof reader.read>>;
        try {
          result = await reader.read();
        } catch (err) {
          throw this.translate(err, url);
        } finally {
          this.disarm();
        }
        if (result.done) return;
        yield result.value;
      }
    } finally {
      reader.releaseLock();
      await response.body.cancel().catch(() => {});
    }
  }
}
