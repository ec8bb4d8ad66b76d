/**
 * The shim's C unit tests (shim/test/: the state.json reader, argument
 * parsing, line framing, drain rules), built on the sanitizer objects and run
 * by `make -C shim test`. Needs the C toolchain the build needs; no root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/runtime/shim/binary.js';

test('make -C shim test: every check passes', () => {
  const result = spawnSync('make', ['-s', '-C', join(packageRoot, 'shim'), 'test'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /all checks passed/);
});
