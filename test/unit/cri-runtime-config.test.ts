/** UpdateRuntimeConfig: the pod CIDRs, checked, kept on disk, shown in Status' verbose info. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../../src/runtime/index.js';
import {
  parsePodCidrs,
  RUNTIME_CONFIG_FILE,
  RuntimeConfigState,
} from '../../src/cri/runtime-config.js';
import { runtimeService } from '../../src/cri/runtime-service.js';

const config = (podCidr: string) => ({ networkConfig: { podCidr } });

test('parsePodCidrs: one CIDR, or IPv4 and IPv6 with a comma; empty is none; anything else refused', () => {
  assert.deepEqual(parsePodCidrs(''), []);
  assert.deepEqual(parsePodCidrs('  '), []);
  assert.deepEqual(parsePodCidrs('10.244.1.0/24'), ['10.244.1.0/24']);
  assert.deepEqual(parsePodCidrs('10.244.1.0/24, fd00:10:244:1::/64'), [
    '10.244.1.0/24',
    'fd00:10:244:1::/64',
  ]);
  for (const bad of [
    '10.244.1.0',
    '10.244.1.0/33',
    'fd00::/129',
    'a.b.c.d/24',
    '10.244.1.0/24,',
    '10.0.0.0/8,10.1.0.0/16,10.2.0.0/16',
    '10.0.0.0/8\0',
  ]) {
    assert.throws(
      () => parsePodCidrs(bad),
      (err: unknown) => err instanceof InvalidArgumentError && /pod_cidr/.test(err.message),
      bad,
    );
  }
});

test('RuntimeConfigState: kept on disk for the next berthd; empty changes nothing; bad leaves it as it was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-runtime-config-'));
  try {
    const state = new RuntimeConfigState(dir);
    assert.deepEqual(await state.podCidrs(), []);
    await state.update(config('10.244.1.0/24'));
    assert.deepEqual(await state.podCidrs(), ['10.244.1.0/24']);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, RUNTIME_CONFIG_FILE), 'utf8')), {
      podCIDRs: ['10.244.1.0/24'],
    });
    await state.update(config(''));
    await state.update(undefined);
    await assert.rejects(state.update(config('nonsense')), InvalidArgumentError);
    assert.deepEqual(await state.podCidrs(), ['10.244.1.0/24']);
    // Concurrent updates do not trip over each other's temp file; the last one wins.
    await Promise.all([
      state.update(config('10.244.2.0/24')),
      state.update(config('10.244.3.0/24,fd00::/64')),
    ]);
    assert.deepEqual(readdirSync(dir), [RUNTIME_CONFIG_FILE]);
    const restarted = new RuntimeConfigState(dir);
    assert.deepEqual(await restarted.podCidrs(), ['10.244.3.0/24', 'fd00::/64']);
    assert.deepEqual(await restarted.verboseInfo(), {
      runtimeConfig: JSON.stringify({ podCIDRs: ['10.244.3.0/24', 'fd00::/64'] }),
    });
    // Without a dir: in memory only.
    const memory = new RuntimeConfigState();
    await memory.update(config('10.9.0.0/16'));
    assert.deepEqual(await memory.podCidrs(), ['10.9.0.0/16']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Calls a unary handler as grpc-js would, without a socket. */
function invoke<Res>(handler: unknown, request: object): Promise<Res> {
  const call = { request, once: () => call } as unknown as ServerUnaryCall<object, Res>;
  return new Promise((resolve, reject) =>
    (
      handler as (
        call: ServerUnaryCall<object, Res>,
        cb: (err: Partial<ServiceError> | null, res?: Res) => void,
      ) => void
    )(call, (err, res) => (err ? reject(err as Error) : resolve(res!))),
  );
}

test('the RuntimeService: UpdateRuntimeConfig keeps the pod CIDR, Status shows it when verbose; a bad one is INVALID_ARGUMENT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-runtime-config-'));
  try {
    const service = runtimeService({ criStateDir: dir, cniConfDir: join(dir, 'net.d') });
    await invoke(service.updateRuntimeConfig, { runtimeConfig: config('10.244.7.0/24') });
    const verbose = await invoke<{ info: Record<string, string> }>(service.status, {
      verbose: true,
    });
    assert.deepEqual(JSON.parse(verbose.info.runtimeConfig!), { podCIDRs: ['10.244.7.0/24'] });
    const quiet = await invoke<{ info: Record<string, string> }>(service.status, {
      verbose: false,
    });
    assert.deepEqual(quiet.info, {});
    await assert.rejects(
      invoke(service.updateRuntimeConfig, { runtimeConfig: config('10.244.7.0') }),
      (err: Partial<ServiceError>) =>
        err.code === grpcStatus.INVALID_ARGUMENT && /not a CIDR/.test(err.details ?? ''),
    );
    assert.equal(existsSync(join(dir, `${RUNTIME_CONFIG_FILE}.tmp`)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
