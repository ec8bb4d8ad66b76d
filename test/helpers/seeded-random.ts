/**
 * Replayable random choices for tests: a small seeded PRNG (mulberry32), the
 * seed taken from $BERTH_TEST_SEED or chosen at random. A test prints its
 * seed; `BERTH_TEST_SEED=<seed>` makes the same choices again.
 */
import { randomInt } from 'node:crypto';

export const SEED_ENV = 'BERTH_TEST_SEED';

/** A uint32 seed: $BERTH_TEST_SEED when set (decimal), else a random one. */
export function testSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[SEED_ENV];
  if (given === undefined || given === '') return randomInt(0, 2 ** 32);
  if (!/^\d+$/.test(given) || Number(given) >= 2 ** 32)
    throw new Error(`${SEED_ENV} must be an integer from 0 to ${2 ** 32 - 1}, got ${given}`);
  return Number(given);
}

/** A generator of floats in [0, 1), like Math.random, the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * The seed of stream `n` of a test (a round, a client): streams run
 * concurrently, so each draws from its own generator and stays replayable
 * whatever the interleaving.
 */
export function streamSeed(seed: number, n: number): number {
  return (seed + Math.imul(n, 0x9e3779b9)) >>> 0;
}

/** How to replay a test file with `seed`. */
export function replayHint(seed: number, file: string): string {
  return `${SEED_ENV}=${seed} tini -s -g -- node --test --test-concurrency=1 ${file}`;
}
