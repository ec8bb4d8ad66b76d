/**
 * What the CLI prints: aligned tables for people, JSON for scripts (uint64
 * values as exact JSON numbers, timestamps as RFC 3339 strings with
 * nanoseconds), and the small formatters both use.
 */
import { stringify } from 'lossless-json';
import { parseGoDuration } from '../api/duration.js';
import type { Timestamp } from '../api/generated/google/protobuf/timestamp.js';
import { nsFromTimestamp } from '../api/timestamp.js';

/** Where output goes; tests and the live views pass their own. */
export interface Output {
  write(text: string): void;
  /** Whether this is a terminal (tables may refresh in place). */
  readonly isTTY: boolean;
  /** Columns, when a terminal. */
  readonly columns?: number;
}

export const stdout: Output = {
  write: (text) => void process.stdout.write(text),
  get isTTY() {
    return process.stdout.isTTY === true;
  },
  get columns() {
    return process.stdout.columns;
  },
};

/**
 * Redraws a terminal screen in place: home, each line cleared to its end,
 * the rest of the screen cleared (no flicker of a full clear).
 */
export function redraw(out: Output, text: string, first: boolean): void {
  const body = text.replace(/\n/g, '\x1b[K\n');
  out.write(`${first ? '\x1b[2J' : ''}\x1b[H${body}\x1b[J`);
}

/** One JSON document, or one line of JSON lines when `pretty` is false. */
export function toJson(value: unknown, pretty = true): string {
  return stringify(value, undefined, pretty ? 2 : undefined) ?? 'null';
}

export function printJson(out: Output, value: unknown): void {
  out.write(`${toJson(value)}\n`);
}

export function printJsonLine(out: Output, value: unknown): void {
  out.write(`${toJson(value, false)}\n`);
}

/** Columns separated by three spaces, each as wide as its widest cell; the last is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [headers, ...rows].map(line).join('\n') + '\n';
}

/** Nanoseconds since the epoch; 0 for a message without the timestamp. */
export function timestampNs(ts: Timestamp | undefined): bigint {
  return ts ? nsFromTimestamp(ts) : 0n;
}

/** RFC 3339 with nanoseconds, UTC: 2024-05-01T10:00:00.123456789Z (as ctr prints). */
export function formatTimestamp(ts: Timestamp | undefined): string {
  if (!ts) return '';
  const iso = new Date(Number(ts.seconds) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${String(ts.nanos).padStart(9, '0')}Z`;
}

/**
 * A time to replay events from: RFC 3339 (with or without fractions and a
 * zone offset), a Go duration ago (`90s`, `10m`, `1h30m`, `48h`), or
 * nanoseconds since the epoch (16 digits or more). Returns ns since the
 * epoch, or undefined if unreadable.
 */
export function parseSince(value: string, nowMs = Date.now()): bigint | undefined {
  if (/^\d{16,}$/.test(value)) return BigInt(value);
  const ago = durationAgo(value);
  if (ago !== undefined) return BigInt(Math.round(nowMs - ago)) * 1_000_000n;
  const match = /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(
    value,
  );
  if (!match) return undefined;
  const [, base, fraction = '', zone] = match;
  const ms = Date.parse(`${base!.replace(' ', 'T')}${zone!.toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/**
 * A Go duration of 0 or more, in ms. A unit is required: a bare "0", which Go
 * takes, would read as well as 0 ns since the epoch.
 */
function durationAgo(value: string): number | undefined {
  if (!/[a-zµμ]$/.test(value)) return undefined;
  try {
    const ms = parseGoDuration(value);
    return ms >= 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** How long ago, in the largest unit that fits: 12s, 5m, 3h, 2d. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 1536 → "1.5KiB". */
export function formatBytes(value: bigint | number): string {
  let n = Number(value);
  let unit = 0;
  while (n >= 1024 && unit < BYTE_UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  const digits = unit === 0 || n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return `${n.toFixed(digits)}${BYTE_UNITS[unit]}`;
}

const SIZE_SUFFIXES: Record<string, bigint> = {
  '': 1n,
  b: 1n,
  k: 1024n,
  kb: 1024n,
  kib: 1024n,
  m: 1024n ** 2n,
  mb: 1024n ** 2n,
  mib: 1024n ** 2n,
  g: 1024n ** 3n,
  gb: 1024n ** 3n,
  gib: 1024n ** 3n,
  t: 1024n ** 4n,
  tb: 1024n ** 4n,
  tib: 1024n ** 4n,
};

/** `67108864`, `64m`, `1.5g` (binary units, as docker reads them) → bytes; undefined if not a size. */
export function parseBytes(value: string): bigint | undefined {
  const match = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i.exec(value.trim());
  if (!match) return undefined;
  const [, whole, fraction = '', suffix = ''] = match;
  const factor = SIZE_SUFFIXES[suffix.toLowerCase()];
  if (factor === undefined) return undefined;
  const scale = 10n ** BigInt(fraction.length);
  return (BigInt(whole! + fraction) * factor) / scale;
}

/** A command line for a table cell: args joined, quoted where needed, cut to `max`. */
export function formatArgs(args: string[], max = 40): string {
  const text = args
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg)))
    .join(' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
