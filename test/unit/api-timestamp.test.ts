/** Timestamps ↔ nanoseconds: one home for berthd and the CLI (src/api/timestamp.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timestamp } from '../../src/api/generated/google/protobuf/timestamp.js';
import { nsFromTimestamp, timestampFromDate, timestampFromNs } from '../../src/api/timestamp.js';

const cases: [string, bigint, { seconds: bigint; nanos: number }][] = [
  ['the epoch', 0n, { seconds: 0n, nanos: 0 }],
  ['a time', 1_700_000_000_123_456_789n, { seconds: 1_700_000_000n, nanos: 123_456_789 }],
  // The CLI's old copy truncated toward zero: nanos -1 is not a valid Timestamp.
  ['1 ns before the epoch (floored)', -1n, { seconds: -1n, nanos: 999_999_999 }],
  ['1.5 s before the epoch (floored)', -1_500_000_000n, { seconds: -2n, nanos: 500_000_000 }],
  // Beyond 2^53 ns (every real timestamp): no double anywhere.
  ['beyond 2^53 ns', 1_999_999_999_999_999_999n, { seconds: 1_999_999_999n, nanos: 999_999_999 }],
];
for (const [what, ns, timestamp] of cases) {
  test(`timestamps: ${what} both ways, exactly`, () => {
    assert.deepEqual(timestampFromNs(ns), timestamp);
    assert.equal(nsFromTimestamp(timestamp), ns);
    assert.ok(timestamp.nanos >= 0 && timestamp.nanos < 1e9);
    // And through the wire.
    const wire = Timestamp.decode(Timestamp.encode(timestampFromNs(ns)).finish());
    assert.equal(nsFromTimestamp(wire), ns);
  });
}

test('timestamps: a Date to the millisecond', () => {
  assert.deepEqual(timestampFromDate(new Date(1_500_000_000_250)), {
    seconds: 1_500_000_000n,
    nanos: 250_000_000,
  });
});
