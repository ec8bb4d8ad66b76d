/** The seed's Resource (docs/SEED.md), and its translation into the OCI runtime's `update` input. */
import { InvalidArgumentError } from './errors.js';

/** Container limits that can change while it runs. A field left undefined is not touched. */
export interface Resource {
  cpuShares?: number;
  blkioWeight?: number;
  /** Microseconds. */
  cpuPeriod?: number;
  /** Microseconds per period; -1 for no limit. */
  cpuQuota?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** Bytes. */
  kernelMemory?: number;
  kernelTCPMemory?: number;
  memory?: number;
  memoryReservation?: number;
  /** Memory plus swap, bytes; -1 for unlimited swap. */
  memorySwap?: number;
}

type IntegerField = Exclude<keyof Resource, 'cpusetCpus' | 'cpusetMems'>;

/** Where each field goes in the OCI LinuxResources object that `update -r -` reads. */
const INTEGER_FIELDS: Record<
  IntegerField,
  [section: 'cpu' | 'memory' | 'blockIO', key: string, min: number]
> = {
  cpuShares: ['cpu', 'shares', 0],
  cpuPeriod: ['cpu', 'period', 0],
  cpuQuota: ['cpu', 'quota', -1],
  blkioWeight: ['blockIO', 'weight', 0],
  memory: ['memory', 'limit', -1],
  memoryReservation: ['memory', 'reservation', -1],
  memorySwap: ['memory', 'swap', -1],
  kernelMemory: ['memory', 'kernel', -1],
  kernelTCPMemory: ['memory', 'kernelTCP', -1],
};

/**
 * The JSON for `runtime update -r -`. Only the fields given appear: the
 * runtime leaves everything else as it is.
 */
export function updateRequest(
  resources: Resource,
): Record<string, Record<string, number | string>> {
  if (typeof resources !== 'object' || resources === null) {
    throw new InvalidArgumentError('resources must be an object');
  }
  const request: Record<string, Record<string, number | string>> = {};
  const put = (section: string, key: string, value: number | string) => {
    (request[section] ??= {})[key] = value;
  };
  for (const [field, [section, key, min]] of Object.entries(INTEGER_FIELDS)) {
    const value = resources[field as IntegerField];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`${field} must be an integer ≥ ${min}, got ${String(value)}`);
    }
    put(section, key, value);
  }
  for (const [field, key] of [
    ['cpusetCpus', 'cpus'],
    ['cpusetMems', 'mems'],
  ] as const) {
    const value = resources[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !/^[0-9,-]+$/.test(value)) {
      throw new InvalidArgumentError(
        `${field} must be a list like "0-2,4", got ${JSON.stringify(value)}`,
      );
    }
    put('cpu', key, value);
  }
  for (const field of Object.keys(resources)) {
    if (!(field in INTEGER_FIELDS) && field !== 'cpusetCpus' && field !== 'cpusetMems') {
      throw new InvalidArgumentError(`unknown resource ${JSON.stringify(field)}`);
    }
  }
  return request;
}
