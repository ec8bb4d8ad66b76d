/** The tests' seeded PRNG: replayable, in [0, 1), seeded from $BERTH_TEST_SEED or at random. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom, streamSeed, testSeed } from '../helpers/seeded-random.js';

const draw = (random: () => number, n: number) => Array.from({ length: n }, () => random());

test('the same seed gives the same sequence; another seed another one', () => {
  assert.deepEqual(draw(seededRandom(42), 100), draw(seededRandom(42), 100));
  assert.notDeepEqual(draw(seededRandom(42), 10), draw(seededRandom(43), 10));
});

test('values lie in [0, 1) and spread over it', () => {
  const values = draw(seededRandom(7), 10_000);
  assert.ok(values.every((v) => v >= 0 && v < 1));
  const buckets = new Array<number>(10).fill(0);
  for (const v of values) buckets[Math.floor(v * 10)]!++;
  for (const count of buckets) assert.ok(count > 800 && count < 1200, `bucket of ${count}`);
});

test('streams of one seed differ from each other, and are uint32 seeds', () => {
  const seeds = [0, 1, 2, 3].map((n) => streamSeed(123, n));
  assert.equal(new Set(seeds).size, seeds.length);
  for (const seed of seeds) assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32);
});

test('$BERTH_TEST_SEED is the seed when set', () => {
  assert.equal(testSeed({ BERTH_TEST_SEED: '4294967295' }), 4294967295);
  assert.equal(testSeed({ BERTH_TEST_SEED: '0' }), 0);
});

test('without $BERTH_TEST_SEED a uint32 is chosen', () => {
  const seed = testSeed({});
  assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32);
});

for (const bad of ['-1', '1.5', 'abc', '4294967296', ' 7']) {
  test(`$BERTH_TEST_SEED=${JSON.stringify(bad)} is refused`, () => {
    assert.throws(() => testSeed({ BERTH_TEST_SEED: bad }), /BERTH_TEST_SEED must be an integer/);
  });
}
