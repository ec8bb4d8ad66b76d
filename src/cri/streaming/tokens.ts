/**
 * One-time tokens for streaming URLs: what the RPC (Exec, Attach,
 * PortForward) asked for, redeemed once by the client that connects, within
 * a minute (the kubelet's rules). Expired ones are swept when tokens are
 * made, so no timer keeps the process alive.
 */
import { randomBytes } from 'node:crypto';
import { BerthError } from '../../runtime/index.js';

export const DEFAULT_TOKEN_TTL_MS = 60_000;
/** The kubelet's cap on requests waiting to be redeemed. */
export const MAX_PENDING_TOKENS = 1000;

export class TooManyStreamingRequestsError extends BerthError {
  readonly code = 'ERR_TOO_MANY_STREAMING_REQUESTS';
}

/** Tokens are 8 random bytes in URL-safe base64 (the kubelet's size): 11 characters. */
const TOKEN = /^[A-Za-z0-9_-]{11}$/;

export class TokenCache<T> {
  readonly #entries = new Map<string, { value: T; expires: number }>();

  constructor(
    readonly ttlMs = DEFAULT_TOKEN_TTL_MS,
    readonly now: () => number = Date.now,
  ) {}

  /** A new token for `value`. */
  put(value: T): string {
    this.#sweep();
    if (this.#entries.size >= MAX_PENDING_TOKENS) {
      throw new TooManyStreamingRequestsError(
        `${MAX_PENDING_TOKENS} streaming requests are waiting for their clients: try again later`,
      );
    }
    let token: string;
    do token = randomBytes(8).toString('base64url');
    while (this.#entries.has(token));
    this.#entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The token's value, once; undefined for an unknown, used or expired token. */
  consume(token: string): T | undefined {
    if (!TOKEN.test(token)) return undefined;
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    this.#entries.delete(token);
    return entry.expires > this.now() ? entry.value : undefined;
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.#entries)
      if (entry.expires <= now) this.#entries.delete(token);
  }
}
