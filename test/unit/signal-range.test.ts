/** The signal range 1–64: one check (src/supervisor/signal.ts) for the supervisor, the API and the CLI. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSignal } from '../../src/cli/signals.js';
import { UsageError } from '../../src/cli/errors.js';
import { InvalidArgumentError } from '../../src/runtime/index.js';
import { MAX_SIGNAL, checkSignal, isSignalNumber } from '../../src/supervisor/signal.js';

for (const signal of [1, 9, 15, 34, MAX_SIGNAL]) {
  test(`signal ${signal} is a signal number`, () => {
    assert.equal(isSignalNumber(signal), true);
    assert.equal(checkSignal(signal), signal);
    assert.equal(parseSignal(String(signal)), signal);
  });
}

for (const signal of [0, -9, 65, 1.5, Number.NaN, 4_000_000_000]) {
  test(`${signal} is no signal number: InvalidArgumentError naming the range`, () => {
    assert.equal(isSignalNumber(signal), false);
    assert.throws(
      () => checkSignal(signal),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        err.code === 'ERR_INVALID_ARGUMENT' &&
        err.message === `signal ${signal} is not a signal number (1-64)`,
    );
  });
}

for (const text of ['0', '65', '4000000000']) {
  test(`the CLI refuses signal ${text} as a usage error`, () => {
    assert.throws(() => parseSignal(text), UsageError);
  });
}
