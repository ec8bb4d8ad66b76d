/** The seed's Resource (docs/SEED.md) turned into the runtime's `update -r -` input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/runtime/errors.js';
import { updateRequest } from '../../src/runtime/resources.js';

test('each field lands in its section; fields not given do not appear', () => {
  assert.deepEqual(updateRequest({}), {});
  assert.deepEqual(
    updateRequest({
      cpuShares: 512,
      cpuPeriod: 100000,
      cpuQuota: -1,
      cpusetCpus: '0-1',
      cpusetMems: '0',
      blkioWeight: 300,
      memory: 64 * 1024 * 1024,
      memoryReservation: -1,
      memorySwap: -1,
      kernelMemory: 0,
      kernelTCPMemory: 1024,
    }),
    {
      cpu: { shares: 512, period: 100000, quota: -1, cpus: '0-1', mems: '0' },
      blockIO: { weight: 300 },
      memory: { limit: 67108864, reservation: -1, swap: -1, kernel: 0, kernelTCP: 1024 },
    },
  );
});

// Bad values and unknown fields are refused with InvalidArgumentError.
const badResources: unknown[] = [
  { cpuShares: -1 },
  { cpuQuota: -2 },
  { memory: 1.5 },
  { memory: Number.MAX_SAFE_INTEGER + 2 },
  { memory: '64m' },
  { cpusetCpus: '0-1; rm -rf /' },
  { cpusetMems: 3 },
  { swappiness: 10 },
  null,
];
for (const resources of badResources)
  test(`resources ${JSON.stringify(resources)} are refused with InvalidArgumentError`, () => {
    assert.throws(
      () => updateRequest(resources as never),
      InvalidArgumentError,
      JSON.stringify(resources),
    );
  });
