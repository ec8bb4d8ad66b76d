import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedQueue } from '../../src/cri/keyed-queue.js';

test('operations on one key run one after another, in order', async () => {
  const queue = new KeyedQueue();
  const seen: string[] = [];
  const op = (name: string, ms: number) =>
    queue.run('pod', async () => {
      seen.push(`${name} starts`);
      await sleep(ms);
      seen.push(`${name} ends`);
      return name;
    });
  assert.deepEqual(await Promise.all([op('a', 20), op('b', 1)]), ['a', 'b']);
  assert.deepEqual(seen, ['a starts', 'a ends', 'b starts', 'b ends']);
});

test('operations on other keys run alongside', async () => {
  const queue = new KeyedQueue();
  let running = 0;
  let most = 0;
  const op = (key: string) =>
    queue.run(key, async () => {
      most = Math.max(most, ++running);
      await sleep(10);
      running--;
    });
  await Promise.all([op('a'), op('b'), op('c')]);
  assert.equal(most, 3);
});

test('a failed operation rejects its caller only; the next on its key still runs', async () => {
  const queue = new KeyedQueue();
  const failed = queue.run('pod', () => Promise.reject(new Error('boom')));
  const next = queue.run('pod', () => Promise.resolve('next'));
  await assert.rejects(failed, /boom/);
  assert.equal(await next, 'next');
});
