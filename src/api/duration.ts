/**
 * Go durations (time.ParseDuration's grammar), the one form of a length of
 * time on berth's command lines: containerd v0.2.8's daemon flags took them,
 * so berthd does (`--start-timeout 15s`), and the CLI takes the same
 * (`--timeout 1h30m`, `--interval 500ms`, `events -t 10m`). Here, below both.
 */
import { InvalidArgumentError } from '../runtime/index.js';

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5
  μs: 1e3, // U+03BC
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.Duration is an int64 of nanoseconds (about 292 years). */
const MAX_NS = 2 ** 63;

const PART = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/u;

/**
 * A Go duration ("15s", "500ms", "2m", "1h30m", "1.5s", "300us", "-2s", "0")
 * in milliseconds. A number without a unit is refused, "0" aside, as Go
 * refuses it. Throws InvalidArgumentError naming the value.
 */
export function parseGoDuration(text: string): number {
  const bad = (why = 'expected a Go duration such as 15s, 500ms, 2m or 1h30m') =>
    new InvalidArgumentError(`invalid duration ${JSON.stringify(text)}: ${why}`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let ns = 0;
  while (rest !== '') {
    const match = PART.exec(rest);
    if (!match) {
      throw /^\d+(\.\d*)?$/.test(rest)
        ? bad('a Go duration needs a unit (ns, us, ms, s, m, h), as in 15s')
        : bad();
    }
    ns += Number(match[1]) * UNIT_NS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  if (ns >= MAX_NS) throw bad('longer than Go’s longest duration (about 292 years)');
  return (sign * ns) / 1e6;
}

/** Milliseconds as Go's Duration.String() prints them: 15s, 1m30s, 1h0m0s, 500ms, 0s. */
export function formatGoDuration(ms: number): string {
  let ns = BigInt(Math.round(ms * 1e6));
  const sign = ns < 0n ? '-' : '';
  if (ns < 0n) ns = -ns;
  if (ns === 0n) return '0s';
  /** `value / 10^digits` with its fraction's trailing zeros dropped. */
  const decimal = (value: bigint, digits: number) => {
    const scale = 10n ** BigInt(digits);
    const fraction = (value % scale).toString().padStart(digits, '0').replace(/0+$/, '');
    return `${value / scale}${fraction ? `.${fraction}` : ''}`;
  };
  if (ns < 1_000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${decimal(ns, 3)}µs`;
  if (ns < 1_000_000_000n) return `${sign}${decimal(ns, 6)}ms`;
  const seconds = decimal(ns % 60_000_000_000n, 9);
  const minutes = (ns / 60_000_000_000n) % 60n;
  const hours = ns / 3_600_000_000_000n;
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}
