/**
 * google.protobuf.Timestamp and nanoseconds since the epoch, both ways and
 * exact: berthd's events and stats carry Timestamps, the supervisor and the
 * CLI count in nanoseconds.
 */
import type { Timestamp } from './generated/google/protobuf/timestamp.js';

const NS_PER_SECOND = 1_000_000_000n;

/** Nanoseconds since the epoch → Timestamp (exact; before the epoch too). */
export function timestampFromNs(ns: bigint): Timestamp {
  // Floor division, so that nanos is always in [0, 1e9) as the Timestamp spec requires.
  let seconds = ns / NS_PER_SECOND;
  let nanos = ns % NS_PER_SECOND;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NS_PER_SECOND;
  }
  return { seconds, nanos: Number(nanos) };
}

/** Timestamp → nanoseconds since the epoch (exact). */
export function nsFromTimestamp(timestamp: Timestamp): bigint {
  return timestamp.seconds * NS_PER_SECOND + BigInt(timestamp.nanos);
}

export function timestampFromDate(date: Date): Timestamp {
  return timestampFromNs(BigInt(date.getTime()) * 1_000_000n);
}
