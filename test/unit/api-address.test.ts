/** berthd's socket address: one parser for berthd, its CRI socket and the CLI (src/api/address.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_ADDRESS,
  MAX_SOCKET_PATH,
  parseUnixAddress,
  socketPath,
} from '../../src/api/address.js';
import { parseAddress } from '../../src/cli/client.js';
import { UsageError } from '../../src/cli/errors.js';
import { InvalidArgumentError } from '../../src/runtime/index.js';

const accepted: [string, string][] = [
  ['unix:///run/berth/berthd.sock', '/run/berth/berthd.sock'],
  ['unix:/run/x.sock', '/run/x.sock'],
  ['/run/x.sock', '/run/x.sock'],
  [`/${'x'.repeat(MAX_SOCKET_PATH - 1)}`, `/${'x'.repeat(MAX_SOCKET_PATH - 1)}`],
];
for (const [value, path] of accepted) {
  test(`address ${value.slice(0, 40)}: the socket ${path.slice(0, 30)}, as unix://path`, () => {
    assert.deepEqual(parseUnixAddress(value), { address: `unix://${path}`, path });
    assert.equal(socketPath(value), path);
  });
}

const refused: [string, RegExp][] = [
  ['tcp://127.0.0.1:1234', /not supported: berthd serves on a unix socket/],
  ['berthd.sock', /not supported/],
  ['', /not supported/],
  ['unix://relative.sock', /must be absolute/],
  ['unix:relative.sock', /must be absolute/],
  ['unix:///run/a\0b.sock', /NUL/],
  [`/${'x'.repeat(MAX_SOCKET_PATH)}`, /longer than 107 bytes/],
  // Bytes, not characters: 54 two-byte characters are 108 bytes.
  [`/${'é'.repeat(54)}`, /longer than 107 bytes/],
];
for (const [value, message] of refused) {
  test(`address ${JSON.stringify(value.slice(0, 40))} is refused: ${message.source}`, () => {
    assert.throws(
      () => parseUnixAddress(value),
      (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message),
    );
  });
  test(`the CLI refuses ${JSON.stringify(value.slice(0, 40))} as a usage error, same words`, () => {
    assert.throws(
      () => parseAddress(value),
      (err: unknown) =>
        err instanceof UsageError && err.code === 'ERR_USAGE' && message.test(err.message),
    );
  });
}

test('the default address berthd serves on is where the CLI looks', () => {
  assert.equal(DEFAULT_ADDRESS, 'unix:///run/berth/berthd.sock');
  assert.equal(parseAddress(DEFAULT_ADDRESS).path, '/run/berth/berthd.sock');
});
