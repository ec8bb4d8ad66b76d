/** OCI JSON with exact integers: the native fast path and the lossless one agree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExactJson, stringifyExactJson } from '../../src/runtime/oci/exact-json.js';

const RLIM_INFINITY = '18446744073709551615';

test('integers within 2^53 are numbers; beyond, bigints; in the same text', () => {
  assert.deepEqual(parseExactJson('{"a":9007199254740991,"b":1.5,"c":-3}'), {
    a: 9007199254740991,
    b: 1.5,
    c: -3,
  });
  assert.deepEqual(parseExactJson(`{"soft":${RLIM_INFINITY},"hard":1024,"x":0.5}`), {
    soft: 18446744073709551615n,
    hard: 1024,
    x: 0.5,
  });
});

test('a uint64 is written back digit for digit; plain values as JSON.stringify writes them', () => {
  const text = `{"rlimits":[{"type":"RLIMIT_NOFILE","soft":${RLIM_INFINITY},"hard":${RLIM_INFINITY}}]}`;
  assert.equal(stringifyExactJson(parseExactJson(text)), text);
  const plain = { args: ['sh', '-c', 'echo "hi"\n'], uid: 0, f: 0.25, none: null, gone: undefined };
  assert.equal(stringifyExactJson(plain), JSON.stringify(plain));
});

test('a long digit run inside a string does not change the value', () => {
  const text = '{"env":["ID=12345678901234567890"],"n":7}';
  assert.deepEqual(parseExactJson(text), { env: ['ID=12345678901234567890'], n: 7 });
});

test("a repeated key's last value wins on both paths, as in Go's encoding/json", () => {
  assert.deepEqual(parseExactJson('{"a":1,"a":2}'), { a: 2 });
  assert.deepEqual(parseExactJson(`{"a":1,"a":${RLIM_INFINITY}}`), { a: 18446744073709551615n });
});

test('invalid JSON throws on both paths', () => {
  assert.throws(() => parseExactJson('{"a":'));
  assert.throws(() => parseExactJson(`{"a":${RLIM_INFINITY},}`));
});

test('a value without a JSON form is refused', () => {
  assert.throws(() => stringifyExactJson(undefined), TypeError);
});
