/**
 * What may arrive on a shim's control FIFO, for fuzzing: a seeded fast-check
 * generator of byte streams (garbage, lines too long for the shim's 256-byte
 * buffer, NULs, random bytes, valid lines with values out of range, valid
 * resizes), and a model of shim/PROTOCOL.md's reading: lines `TYPE WIDTH
 * HEIGHT\n`, type 1 resizes, 0 closes stdin, 2 discards output; a malformed or overlong line is
 * ignored as a whole.
 */
import fc from 'fast-check';

/** Longest line the shim takes (without its newline): its buffer holds 255 bytes. */
export const MAX_LINE = 254;
const MAX_DIMENSION = 65535;

export type ControlEffect =
  | { type: 'resize'; width: number; height: number }
  | { type: 'close' }
  | { type: 'discard' }
  | { type: 'ignored' };

/** What one line (without its newline) does. */
export function lineEffect(line: Buffer): ControlEffect {
  if (line.length > MAX_LINE) return { type: 'ignored' };
  let text = line.toString('latin1');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  const match = /^[ \t]*(\d+)[ \t]+(\d+)[ \t]+(\d+)[ \t]*$/.exec(text);
  if (!match) return { type: 'ignored' };
  const [type, width, height] = match.slice(1).map((digits) => BigInt(digits));
  if (type === 0n) return { type: 'close' };
  if (type === 2n) return { type: 'discard' };
  if (type !== 1n || width! > MAX_DIMENSION || height! > MAX_DIMENSION) return { type: 'ignored' };
  return { type: 'resize', width: Number(width), height: Number(height) };
}

/** Every complete line of `stream`, in order (a trailing partial line is not one). */
export function lines(stream: Buffer): Buffer[] {
  const found: Buffer[] = [];
  let start = 0;
  for (let nl = stream.indexOf(10, start); nl >= 0; nl = stream.indexOf(10, start)) {
    found.push(stream.subarray(start, nl));
    start = nl + 1;
  }
  return found;
}

const b = (value: string): Buffer => Buffer.from(value, 'latin1');
const dimension = fc.integer({ min: 0, max: MAX_DIMENSION });
const space = fc.constantFrom(' ', '  ', '\t', ' \t ');

const validResize = fc
  .tuple(dimension, dimension, space, space, fc.constantFrom('', ' ', '\t', '\r'))
  .map(([w, h, s1, s2, end]) => b(`1${s1}${w}${s2}${h}${end}`));

/** Lines that must do nothing. */
const garbage: fc.Arbitrary<Buffer> = fc.oneof(
  fc.string({ maxLength: 40 }).map(b),
  fc.uint8Array({ maxLength: 80 }).map((raw) => Buffer.from(raw)),
  fc
    .constantFrom(
      '',
      '\r',
      '1',
      '1 80',
      '1 80 24 5',
      '1 -80 24',
      '1 80 24x',
      '1,80,24',
      '+1 80 24',
      '1 0x50 24',
      '1 80 24\r\r',
      '1\v80 24',
    )
    .map(b),
  // Out of range: no 16-bit terminal size, or no 32-bit number at all.
  fc
    .tuple(fc.bigInt({ min: BigInt(MAX_DIMENSION + 1), max: 2n ** 40n }), dimension, fc.boolean())
    .map(([big, small, wide]) => b(wide ? `1 ${big} ${small}` : `1 ${small} ${big}`)),
  // Types nobody knows.
  fc
    .tuple(fc.bigInt({ min: 3n, max: 2n ** 33n }), dimension, dimension)
    .map(([t, w, h]) => b(`${t} ${w} ${h}`)),
  // A valid line with a NUL in it, or after it: not a valid line.
  fc
    .tuple(validResize, fc.constantFrom('\0', '\0junk', ' \0', '\0 1 2 3'))
    .map(([line, tail]) => Buffer.concat([line.subarray(0, line.length), b(tail)])),
  fc.constantFrom('0 0 0\0', '0 0 0\0garbage', '\x000 0 0').map(b),
  fc.tuple(dimension, dimension).map(([w, h]) => b(`1 ${w}\0 ${h}`)),
  // Too long for the buffer, however valid it looks.
  fc
    .tuple(validResize, fc.integer({ min: MAX_LINE + 1, max: 5000 }))
    .map(([line, length]) =>
      Buffer.concat([line, b(' '.repeat(Math.max(0, length - line.length)))]),
    ),
  fc.integer({ min: MAX_LINE + 1, max: 20_000 }).map((length) => b('9'.repeat(length))),
  fc.integer({ min: MAX_LINE + 1, max: 3000 }).map((length) => b(`0 0 0${' '.repeat(length)}`)),
);

export interface ControlStorm {
  /** The bytes, in the order written. */
  stream: Buffer;
  /** Sizes of the writes the stream is cut into (lines split across writes, and reads). */
  cuts: number[];
}

/**
 * A storm for one shim: a first valid resize, then garbage and valid resizes
 * mixed, each line ended; no line in it closes stdin or discards output (checked by the model:
 * random bytes may hold newlines of their own).
 */
export function controlStorms(): fc.Arbitrary<ControlStorm> {
  const line = fc.oneof({ weight: 5, arbitrary: garbage }, { weight: 2, arbitrary: validResize });
  return fc
    .tuple(
      validResize,
      fc.array(line, { minLength: 20, maxLength: 400, size: 'max' }),
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 50, size: 'max' }),
    )
    .map(([first, rest, cuts]) => ({
      stream: Buffer.concat([first, ...rest].flatMap((l) => [l, b('\n')])),
      cuts,
    }))
    .filter(({ stream }) =>
      lines(stream).every((l) => !['close', 'discard'].includes(lineEffect(l).type)),
    );
}

/** The terminal size after `stream`: the last resize in it. */
export function finalSize(stream: Buffer): { width: number; height: number } | undefined {
  let size: { width: number; height: number } | undefined;
  for (const line of lines(stream)) {
    const effect = lineEffect(line);
    if (effect.type === 'resize') size = { width: effect.width, height: effect.height };
  }
  return size;
}

/** `count` valid resizes in a row, the last to `last`. */
export function resizeFlood(count: number, last: { width: number; height: number }): Buffer {
  const parts: string[] = [];
  for (let i = 1; i < count; i++) parts.push(`1 ${(i * 7) % 300} ${(i * 13) % 100}\n`);
  parts.push(`1 ${last.width} ${last.height}\n`);
  return b(parts.join(''));
}
