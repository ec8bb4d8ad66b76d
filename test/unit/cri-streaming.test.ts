/**
 * The streaming server's pure parts: resize messages cut and joined across
 * frames, one-time tokens (once, before their expiry, bounded in number),
 * and the v4 status messages kubectl and crictl decode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResizeDecoder, TerminalSizeQueue, parseSize } from '../../src/cri/streaming/resize.js';
import { MAX_PENDING_TOKENS, TokenCache } from '../../src/cri/streaming/tokens.js';
import {
  exitCodeStatus,
  internalErrorStatus,
  statusBytes,
  successStatus,
} from '../../src/cri/streaming/status.js';
import { negotiate } from '../../src/cri/streaming/spdy.js';

test('resize messages: joined, cut, case-insensitive names; garbage refused', () => {
  const decoder = new ResizeDecoder();
  assert.deepEqual(decoder.push(Buffer.from('{"Width":80,"Height":24}{"Width"')), [
    { width: 80, height: 24 },
  ]);
  assert.deepEqual(decoder.push(Buffer.from(':100,')), []);
  assert.deepEqual(decoder.push(Buffer.from('"Height":50}\n {"width":1,"height":2}')), [
    { width: 100, height: 50 },
    { width: 1, height: 2 },
  ]);
  assert.deepEqual(parseSize('{}'), { width: 0, height: 0 });
  for (const bad of ['[1,2]', '{"Width":-1}', '{"Width":1.5}', '{"Height":70000}', 'nope']) {
    assert.throws(() => new ResizeDecoder().push(Buffer.from(bad)), { code: 'ERR_INVALID_RESIZE' });
  }
  assert.throws(() => new ResizeDecoder().push(Buffer.from(`{"Width":${' '.repeat(5000)}`)), {
    code: 'ERR_INVALID_RESIZE',
  });
});

test('the size queue yields in order and ends', async () => {
  const queue = new TerminalSizeQueue();
  queue.push({ width: 1, height: 2 });
  const seen: number[] = [];
  const done = (async () => {
    for await (const size of queue) seen.push(size.width);
  })();
  await new Promise((resolve) => setImmediate(resolve));
  queue.push({ width: 3, height: 4 });
  queue.end();
  queue.push({ width: 5, height: 6 });
  await done;
  assert.deepEqual(seen, [1, 3]);
});

test('tokens: redeemed once, not after their expiry, bounded, and well-formed only', () => {
  let now = 1000;
  const tokens = new TokenCache<string>(60_000, () => now);
  const a = tokens.put('a');
  const b = tokens.put('b');
  assert.match(a, /^[A-Za-z0-9_-]{11}$/);
  assert.notEqual(a, b);
  assert.equal(tokens.consume(a), 'a');
  assert.equal(tokens.consume(a), undefined);
  now += 60_000;
  assert.equal(tokens.consume(b), undefined, 'expired');
  assert.equal(tokens.consume('../../etc'), undefined);
  for (let i = 0; i < MAX_PENDING_TOKENS; i++) tokens.put(String(i));
  assert.throws(() => tokens.put('one too many'), { code: 'ERR_TOO_MANY_STREAMING_REQUESTS' });
  now += 60_000;
  // Expired ones are swept when a new one is made.
  tokens.put('after expiry');
  assert.equal(tokens.size, 1);
});

test('status messages as metav1.Status JSON', () => {
  assert.equal(statusBytes(successStatus()).toString(), '{"metadata":{},"status":"Success"}');
  assert.deepEqual(JSON.parse(statusBytes(exitCodeStatus(137, ['sleep', '9'])).toString()), {
    metadata: {},
    status: 'Failure',
    message:
      'command terminated with non-zero exit code: error executing command [sleep 9], exit code 137',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '137' }] },
  });
  const internal = internalErrorStatus('boom');
  assert.equal(internal.code, 500);
  assert.equal(internal.reason, 'InternalError');
});

test('protocol negotiation follows the client’s order among the server’s', () => {
  const server = ['v4.channel.k8s.io', 'v3.channel.k8s.io'];
  assert.equal(negotiate(['v3.channel.k8s.io', 'v4.channel.k8s.io'], server), 'v3.channel.k8s.io');
  assert.equal(negotiate(['channel.k8s.io'], server), undefined);
});
