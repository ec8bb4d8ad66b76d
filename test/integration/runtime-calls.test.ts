/**
 * The OCI runtime's one-shot calls (state, pause, update, delete...): forked by
 * Node when alone, by the shim's resident spawner when others are in flight.
 * Both ways give the same answers, errors, timeouts and aborts; a spawner that
 * dies loses no call silently.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runRuntime, type RuntimeBinary } from '../../src/runtime/oci/cli.js';
import { builtShimPath } from '../../src/runtime/shim/binary.js';
import {
  AbortError,
  BinaryNotFoundError,
  RuntimeError,
  RuntimeTimeoutError,
} from '../../src/index.js';
import { tempDir } from '../../support/busybox.js';
import { fakeRuntime } from '../helpers/env.js';
import { pidAlive } from '../helpers/berthd-process.js';

const base = tempDir();
after(() => rmSync(base, { recursive: true, force: true }));
const runtime: RuntimeBinary = {
  runtime: fakeRuntime('answering-runtime'),
  runtimeArgs: [],
  shim: builtShimPath(),
};

/** Runs `call` while another call is in flight, so that it goes through the spawner. */
async function alongside<T>(call: () => Promise<T>): Promise<T> {
  const other = runRuntime(runtime, ['wait', '0.3']);
  try {
    return await call();
  } finally {
    await other;
  }
}

test('a lone call is forked by Node; one alongside another by the spawner', async () => {
  assert.equal((await runRuntime(runtime, ['parent'])).trim(), 'node');
  assert.equal((await alongside(() => runRuntime(runtime, ['parent']))).trim(), 'berth-shim');
});

test('through the spawner, input and a large output arrive whole', async () => {
  const input = JSON.stringify({ memory: { limit: 1 << 20 }, pad: 'y'.repeat(20_000) });
  assert.equal(await alongside(() => runRuntime(runtime, ['echo'], { input })), input);
  const big = await alongside(() => runRuntime(runtime, ['big']));
  assert.equal(big.length, 300_000);
  assert.match(big, /^x+$/);
});

test('through the spawner, a refusal carries the runtime words and status', async () => {
  await assert.rejects(
    alongside(() => runRuntime(runtime, ['refuse'])),
    (err: unknown) =>
      err instanceof RuntimeError && /fake refusal/.test(err.message) && err.exitCode === 3,
  );
});

test('through the spawner, a hung runtime is killed at the timeout and an abort kills it', async () => {
  const pidFile = join(base, 'hung.pid');
  const parentFile = join(base, 'hung.parent');
  const t0 = Date.now();
  await assert.rejects(
    alongside(() => runRuntime(runtime, ['hang', pidFile, parentFile], { timeoutMs: 500 })),
    RuntimeTimeoutError,
  );
  assert.ok(Date.now() - t0 < 3000, 'settled soon after the timeout');
  assert.equal(pidAlive(Number(readFileSync(pidFile, 'utf8'))), false, 'hung runtime killed');

  const controller = new AbortController();
  const call = alongside(() =>
    runRuntime(runtime, ['hang', pidFile, parentFile], { signal: controller.signal }),
  );
  await sleep(200);
  controller.abort();
  await assert.rejects(call, AbortError);
  assert.equal(pidAlive(Number(readFileSync(pidFile, 'utf8'))), false, 'aborted runtime killed');
});

test('a runtime that is not there: BinaryNotFoundError, also once its path was known', async () => {
  const vanishing = join(base, 'vanishing-runtime');
  copyFileSync(fakeRuntime('answering-runtime'), vanishing);
  chmodSync(vanishing, 0o755);
  const binary = { ...runtime, runtime: vanishing };
  assert.equal((await alongside(() => runRuntime(binary, ['parent']))).trim(), 'berth-shim');
  rmSync(vanishing);
  await assert.rejects(
    alongside(() => runRuntime(binary, ['parent'])),
    BinaryNotFoundError,
  );
  await assert.rejects(
    runRuntime({ ...runtime, runtime: join(base, 'never-there') }, ['parent']),
    BinaryNotFoundError,
  );
});

test('a spawner killed mid-call: that call fails as lost, the next gets a new spawner', async () => {
  const pidFile = join(base, 'lost.pid');
  const parentFile = join(base, 'lost.parent');
  const call = alongside(() => runRuntime(runtime, ['hang', pidFile, parentFile]));
  let spawner = 0;
  for (let i = 0; i < 100 && !spawner; i++) {
    await sleep(20);
    try {
      spawner = Number(readFileSync(parentFile, 'utf8'));
    } catch {
      // Not written yet.
    }
  }
  assert.ok(spawner > 0, 'the hung runtime reported its parent');
  // Only the spawner this test's call went through (its parent, by PID).
  process.kill(spawner, 'SIGKILL');
  await assert.rejects(
    call,
    (err: unknown) => err instanceof RuntimeError && /lost/.test(err.message),
  );
  process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  assert.equal((await alongside(() => runRuntime(runtime, ['parent']))).trim(), 'berth-shim');
});
