/**
 * Terminal window sizes as clients send them: a stream of JSON objects
 * `{"Width":80,"Height":24}` (Go's encoding of remotecommand.TerminalSize),
 * possibly cut or joined across frames, read as the kubelet's json.Decoder
 * reads them.
 */
import { BerthError } from '../../runtime/index.js';
import type { TerminalSize } from './types.js';

/** Most bytes of an unfinished size message kept; beyond, the client is not sending sizes. */
const MAX_PENDING_BYTES = 4096;
const MAX_DIMENSION = 0xffff;

export class InvalidResizeError extends BerthError {
  readonly code = 'ERR_INVALID_RESIZE';
}

/** Sizes in arrival order, for `for await`; ends with end(). */
export class TerminalSizeQueue implements AsyncIterable<TerminalSize> {
  #sizes: TerminalSize[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(size: TerminalSize): void {
    if (this.#ended) return;
    this.#sizes.push(size);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TerminalSize> {
    for (;;) {
      const next = this.#sizes.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

/** Cuts a byte stream into size messages. */
export class ResizeDecoder {
  #pending = '';

  /** The sizes `chunk` completes; throws InvalidResizeError on anything else. */
  push(chunk: Buffer): TerminalSize[] {
    this.#pending += chunk.toString('utf8');
    const sizes: TerminalSize[] = [];
    for (;;) {
      const text = this.#pending.trimStart();
      if (text === '') {
        this.#pending = '';
        return sizes;
      }
      if (!text.startsWith('{')) throw new InvalidResizeError('a resize message is a JSON object');
      const end = text.indexOf('}');
      if (end === -1) {
        if (text.length > MAX_PENDING_BYTES) {
          throw new InvalidResizeError('resize message too long');
        }
        this.#pending = text;
        return sizes;
      }
      sizes.push(parseSize(text.slice(0, end + 1)));
      this.#pending = text.slice(end + 1);
    }
  }
}

function dimension(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DIMENSION) {
    throw new InvalidResizeError(`resize ${name} must be an integer from 0 to ${MAX_DIMENSION}`);
  }
  return value;
}

/** `{"Width":w,"Height":h}` → a size (Go's decoder matches field names case-insensitively). */
export function parseSize(text: string): TerminalSize {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidResizeError(
      `resize message is not JSON: ${JSON.stringify(text.slice(0, 64))}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidResizeError('a resize message is a JSON object');
  }
  const fields = new Map(Object.entries(parsed).map(([k, v]) => [k.toLowerCase(), v as unknown]));
  return {
    width: dimension(fields.get('width'), 'Width'),
    height: dimension(fields.get('height'), 'Height'),
  };
}
