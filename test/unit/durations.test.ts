/**
 * One grammar for a length of time, Go's time.ParseDuration
 * (src/api/duration.ts), as berthd's flags and the CLI's options take it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import { formatGoDuration, parseGoDuration } from '../../src/api/duration.js';
import { parseSince } from '../../src/cli/output.js';
import { durationArg, sinceArg } from '../../src/cli/parse.js';
import { parseFlags } from '../../src/daemon/flags.js';
import { DEFAULT_START_TIMEOUT_MS, InvalidArgumentError } from '../../src/runtime/index.js';

const goDurations: [string, number][] = [
  ['0', 0],
  ['-0', 0],
  ['15s', 15_000],
  ['500ms', 500],
  ['2m', 120_000],
  ['1h30m', 5_400_000],
  ['1.5s', 1_500],
  ['.5s', 500],
  ['1.s', 1_000],
  ['300us', 0.3],
  ['300µs', 0.3], // U+00B5
  ['300μs', 0.3], // U+03BC
  ['1000000ns', 1],
  ['1m0.5s', 60_500],
  ['1h1m1s1ms', 3_661_001],
  ['-2s', -2_000],
  ['+2s', 2_000],
];
for (const [text, ms] of goDurations) {
  test(`Go duration ${text} is ${ms} ms`, () => assert.equal(parseGoDuration(text), ms));
}

const notGo: [string, RegExp][] = [
  ['', /expected a Go duration/],
  ['15', /needs a unit/],
  ['1.5', /needs a unit/],
  ['s', /expected a Go duration/],
  ['1d', /expected a Go duration/],
  ['1.s.', /expected a Go duration/],
  ['.s', /expected a Go duration/],
  ['1 s', /expected a Go duration/],
  ['--1s', /expected a Go duration/],
  ['ms5', /expected a Go duration/],
  ['1S', /expected a Go duration/],
  ['2562048h', /longest duration/],
];
for (const [text, message] of notGo) {
  test(`${JSON.stringify(text)} is not a Go duration: ${message.source}`, () => {
    assert.throws(
      () => parseGoDuration(text),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        err.code === 'ERR_INVALID_ARGUMENT' &&
        err.message.includes(JSON.stringify(text)) &&
        message.test(err.message),
    );
  });
}

const printed: [number, string][] = [
  [0, '0s'],
  [0.0005, '500ns'],
  [0.3, '300µs'],
  [1.5, '1.5ms'],
  [500, '500ms'],
  [1_500, '1.5s'],
  [15_000, '15s'],
  [90_000, '1m30s'],
  [3_600_000, '1h0m0s'],
  [5_400_000.5, '1h30m0.0005s'],
  [-2_000, '-2s'],
];
for (const [ms, text] of printed) {
  test(`${ms} ms prints as Go prints it, ${text}, and reads back`, () => {
    assert.equal(formatGoDuration(ms), text);
    assert.equal(parseGoDuration(text), ms);
  });
}

test("berthd's --start-timeout: the library's default, shown as a Go duration", () => {
  const run = parseFlags([]);
  assert.equal(run.kind, 'run');
  assert.equal(run.kind === 'run' && run.options.startTimeoutMs, DEFAULT_START_TIMEOUT_MS);
  const help = parseFlags(['--help']);
  assert.equal(help.kind, 'help');
  assert.match(help.kind === 'help' ? help.text : '', /Go\s+duration \(default 15s\)/);
});

// The CLI: Go's grammar, plus plain seconds for --timeout and --interval.

const cliDurations: [string, number][] = [
  ['1h30m', 5_400_000],
  ['10s', 10_000],
  ['500ms', 500],
  ['0', 0],
  // The CLI's own convenience, in parse.ts only: a plain number is seconds.
  ['10', 10_000],
  ['2.5', 2_500],
];
for (const [text, ms] of cliDurations) {
  test(`the CLI's --timeout/--interval ${text} is ${ms} ms`, () =>
    assert.equal(durationArg(text), ms));
}

for (const bad of ['soon', '2d', '-1s', '10 s', '']) {
  test(`the CLI refuses ${JSON.stringify(bad)} as a duration, saying what it takes`, () => {
    assert.throws(
      () => durationArg(bad),
      (err: unknown) => err instanceof CommanderArgumentError && /duration/.test(err.message),
    );
  });
}

const now = Date.UTC(2024, 4, 1, 12, 0, 0);
const ago: [string, number][] = [
  ['10m', 600_000],
  ['1h30m', 5_400_000],
  ['48h', 172_800_000],
  ['1.5s', 1_500],
];
for (const [text, ms] of ago) {
  test(`events -t ${text}: that long ago`, () => {
    assert.equal(parseSince(text, now), BigInt(now - ms) * 1_000_000n);
  });
}

// "2d" was the CLI's own unit before the grammars became one: Go has no days.
for (const bad of ['2d', '0', '-10m', '5', 'yesterday']) {
  test(`events -t ${JSON.stringify(bad)} is refused`, () => {
    assert.equal(parseSince(bad, now), undefined);
    assert.throws(() => sinceArg(bad), /Go duration ago/);
  });
}
