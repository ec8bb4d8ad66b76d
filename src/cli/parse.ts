/** Option value parsers for commander: each throws commander's InvalidArgumentError (exit status 2). */
import { InvalidArgumentError } from 'commander';
import { parseGoDuration } from '../api/duration.js';
import { parseAddress } from './client.js';
import { CliError } from './errors.js';
import { parseBytes, parseSince } from './output.js';
import { parseSignal } from './signals.js';

function wrap<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof CliError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

/** Repeatable string option: every value, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export const addressArg = wrap((value) => parseAddress(value).address);

export const signalArg = wrap(parseSignal);

export function keyValueArg(value: string, previous: string[] | undefined): string[] {
  if (!/^[^=\s]+=/.test(value)) throw new InvalidArgumentError('expected KEY=VALUE');
  return collect(value, previous);
}

/**
 * `-e KEY=VALUE`, or `-e KEY` for KEY's value in this environment (left out
 * when unset there), as docker takes it.
 */
export function envArg(value: string, previous: string[] | undefined): string[] {
  if (value.includes('=')) {
    if (value.startsWith('=')) throw new InvalidArgumentError('expected KEY=VALUE or KEY');
    return collect(value, previous);
  }
  const here = process.env[value];
  return here === undefined ? (previous ?? []) : collect(`${value}=${here}`, previous);
}

export function uint32Arg(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff)
    throw new InvalidArgumentError('expected a whole number from 0 to 4294967295');
  return Number(value);
}

const UINT64_MAX = (1n << 64n) - 1n;

/** A uint64 for the wire; -1 is sent as Go's uint64(-1), which berthd reads back as "unlimited". */
export function uint64Arg(value: string): bigint {
  if (value.trim() === '-1') return UINT64_MAX;
  if (!/^\d+$/.test(value.trim()))
    throw new InvalidArgumentError('expected a whole number (or -1)');
  const n = BigInt(value.trim());
  if (n > UINT64_MAX) throw new InvalidArgumentError('too large for a uint64');
  return n;
}

/** Bytes: 1048576, 512k, 64m, 1.5g (binary units); -1 where "unlimited" makes sense. */
export function bytesArg(value: string): bigint {
  if (value.trim() === '-1') return UINT64_MAX;
  const n = parseBytes(value);
  if (n === undefined)
    throw new InvalidArgumentError('expected a size like 67108864, 512k, 64m, 1g');
  if (n > UINT64_MAX) throw new InvalidArgumentError('too large for a uint64');
  return n;
}

export function positiveNumberArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

/** A time for events: RFC 3339, a Go duration ago (10m), or ns since the epoch. */
export function sinceArg(value: string): bigint {
  const ns = parseSince(value);
  if (ns === undefined)
    throw new InvalidArgumentError(
      'expected an RFC 3339 time (2024-05-01T10:00:00.5Z), a Go duration ago (90s, 10m, 1h30m, 48h) or nanoseconds since the epoch',
    );
  return ns;
}

/**
 * A length of time in ms: a Go duration (10s, 1h30m, 500ms; api/duration.ts),
 * or, as a convenience of the CLI's own, a plain number of seconds (10, 2.5),
 * which Go would refuse. Not negative.
 */
export function durationArg(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  let ms: number;
  try {
    ms = parseGoDuration(value);
  } catch {
    throw new InvalidArgumentError(
      'expected a Go duration like 10s, 2m, 1h30m, 500ms (or a plain number of seconds)',
    );
  }
  if (ms < 0) throw new InvalidArgumentError('expected a duration of 0 or more');
  return ms;
}

/** MAJOR:MINOR:VALUE[:LEAF] for the blkio device lists. */
export function deviceArg(
  withLeaf: boolean,
): (value: string, previous: DeviceValue[] | undefined) => DeviceValue[] {
  return (value, previous) => {
    const parts = value.split(':');
    const ok = parts.length === 3 || (withLeaf && parts.length === 4);
    if (!ok || !parts.every((p) => /^\d+$/.test(p)))
      throw new InvalidArgumentError(
        withLeaf ? 'expected MAJOR:MINOR:WEIGHT[:LEAF_WEIGHT]' : 'expected MAJOR:MINOR:RATE',
      );
    const [major, minor, rate, leaf] = parts.map((p) => BigInt(p));
    return [
      ...(previous ?? []),
      { major: major!, minor: minor!, value: rate!, ...(leaf !== undefined ? { leaf } : {}) },
    ];
  };
}

export interface DeviceValue {
  major: bigint;
  minor: bigint;
  value: bigint;
  leaf?: bigint;
}
