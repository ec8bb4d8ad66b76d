/**
 * Hostile clients, part 1: a real berthd (its own state dir and socket) fed
 * malformed and random requests on every RPC by a seeded fast-check fuzzer,
 * then raw garbage bytes and an oversized message as call bodies. Every call
 * must end with a gRPC status that says the input was bad (never INTERNAL or
 * UNKNOWN for merely bad input), berthd must stay alive and answer, and
 * nothing may be left in the state dir, the runtime or the process table.
 *
 * BERTH_FUZZ_RUNS (default 300) and BERTH_FUZZ_SEED set the amount and seed.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  credentials,
  makeGenericClientConstructor,
  status as GrpcStatus,
  type ServiceError,
} from '@grpc/grpc-js';
import fc from 'fast-check';
import { writeBundle } from '../../support/busybox.js';
import { connect, type TestClient } from '../helpers/api-client.js';
import { leftBehind, startHostileBerthd, type HostileDaemon } from '../helpers/hostile-daemon.js';

const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20261129);

/** Statuses that say "your input was bad" (or, for lookups, "no such thing"). */
const REFUSALS = new Set([
  GrpcStatus.OK,
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNIMPLEMENTED,
]);

const U64_MAX = 2n ** 64n - 1n;

describe('berthd fed hostile requests', async () => {
  const daemon: HostileDaemon = await startHostileBerthd(['--start-timeout', '5s']);
  const client: TestClient = connect(daemon.address);
  const goodBundle = writeBundle(join(daemon.base, 'bundle'), { args: ['sleep', '30'] });
  const notABundle = join(daemon.base, 'empty');
  mkdirSync(notABundle);
  const badConfig = join(daemon.base, 'badconfig');
  mkdirSync(badConfig);
  writeFileSync(join(badConfig, 'config.json'), '{"ociVersion": 12, "process": "x"');
  after(async () => {
    client.close();
    await daemon.stop();
  });

  const badId = fc.oneof(
    fc.constantFrom(
      '',
      '.',
      '..',
      '/',
      'a/b',
      'a/../../x',
      '../x',
      'a\0b',
      '\0',
      'x'.repeat(10_000),
      'ünï©ødé-🐳',
      ' ',
      '-rf',
      '.runtime',
      '.pending',
      'events.log',
      'a\nb',
      '*',
    ),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  );
  // Random strings can be valid ids: with a runnable bundle only ids that must be refused.
  const refusedId = fc.constantFrom(
    '',
    '.',
    '..',
    '/',
    'a/b',
    'a/../../x',
    '../x',
    'a\0b',
    'x'.repeat(10_000),
    '.runtime',
    'a\nb',
  );
  const path = fc.oneof(
    fc.constantFrom(
      '',
      'relative/path',
      '.',
      '..',
      '/nonexistent/berth/x',
      '/dev/null',
      '/proc/self/mem',
      'a\0b',
      '/' + 'p'.repeat(5000),
      notABundle,
      badConfig,
    ),
    fc.string({ maxLength: 30 }),
  );
  const stdio = fc.oneof(
    fc.constantFrom('', 'relative', '/nonexistent/dir/fifo', 'a\0b', '/dev/null', '..', '/'),
    fc.string({ maxLength: 20 }),
  );
  const u32 = fc.oneof(
    fc.constantFrom(0, 1, 9, 15, 31, 32, 64, 65, 128, 2 ** 31, 2 ** 32 - 1),
    fc.nat({ max: 2 ** 32 - 1 }),
  );
  const u64 = fc.oneof(
    fc.constantFrom(0n, 1n, U64_MAX, U64_MAX - 1n, 2n ** 63n, 2n ** 63n - 1n),
    fc.bigInt({ min: 0n, max: U64_MAX }),
  );
  const pid = fc.oneof(fc.constantFrom('init', '', '..', 'a/b', 'x'.repeat(5000)), fc.string());
  const strings = fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 });
  const timestamp = fc.option(
    fc.record({
      seconds: fc.oneof(
        fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, 0n),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      ),
      nanos: fc.oneof(
        fc.constantFrom(-1, 1_000_000_000, 2 ** 31 - 1, -(2 ** 31)),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      ),
    }),
    { nil: undefined },
  );
  const throttle = fc.array(
    fc.record({
      blkIODevice: fc.option(
        fc.record({
          major: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          minor: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        }),
        { nil: undefined },
      ),
      rate: u64,
    }),
    { maxLength: 2 },
  );
  const resources = fc.option(
    fc.record({
      blkioWeight: u64,
      cpuShares: u64,
      cpuPeriod: u64,
      cpuQuota: u64,
      cpusetCpus: fc.oneof(
        fc.constantFrom('', '0', '0-', '99999', 'a,b', '-1'),
        fc.string({ maxLength: 10 }),
      ),
      cpusetMems: fc.oneof(fc.constantFrom('', '0', '1-0'), fc.string({ maxLength: 10 })),
      memoryLimit: u64,
      memorySwap: u64,
      memoryReservation: u64,
      kernelMemoryLimit: u64,
      kernelTCPMemoryLimit: u64,
      blkioLeafWeight: u64,
      blkioWeightDevice: fc.array(
        fc.record({
          blkIODevice: fc.option(
            fc.record({
              major: fc.bigInt({ min: -1n, max: 300n }),
              minor: fc.bigInt({ min: -1n, max: 300n }),
            }),
            { nil: undefined },
          ),
          weight: u32,
          leafWeight: u32,
        }),
        { maxLength: 2 },
      ),
      blkioThrottleReadBpsDevice: throttle,
      blkioThrottleWriteBpsDevice: throttle,
      blkioThrottleReadIopsDevice: throttle,
      blkioThrottleWriteIopsDevice: throttle,
    }),
    { nil: undefined },
  );
  const checkpoint = fc.option(
    fc.record({
      name: fc.oneof(
        fc.constantFrom('', '.', '..', 'a/b', '../../x', 'a\0b', 'x'.repeat(5000)),
        fc.string({ maxLength: 20 }),
      ),
      exit: fc.boolean(),
      tcp: fc.boolean(),
      unixSockets: fc.boolean(),
      shell: fc.boolean(),
      emptyNS: strings,
    }),
    { nil: undefined },
  );

  const createReq = (id: fc.Arbitrary<string>, bundlePath: fc.Arbitrary<string>) =>
    fc.record({
      id,
      bundlePath,
      checkpoint: fc.oneof(
        fc.constant(''),
        fc.constantFrom('..', 'a/b', 'x'),
        fc.string({ maxLength: 10 }),
      ),
      stdin: stdio,
      stdout: stdio,
      stderr: stdio,
      labels: strings,
      noPivotRoot: fc.boolean(),
      runtime: fc.oneof(
        fc.constant(''),
        fc.constantFrom('runc', '/bin/false', 'relative', 'nope'),
        fc.string({ maxLength: 10 }),
      ),
      runtimeArgs: strings,
      checkpointDir: fc.oneof(fc.constant(''), path),
    });

  type Call = { rpc: string; req: unknown };
  const call = (rpc: string, req: fc.Arbitrary<unknown>): fc.Arbitrary<Call> =>
    req.map((r) => ({ rpc, req: r }));

  const calls: fc.Arbitrary<Call> = fc.oneof(
    call('createContainer', createReq(badId, path)),
    call('createContainer', createReq(refusedId, fc.constant(goodBundle))),
    call(
      'updateContainer',
      fc.record({
        id: badId,
        pid,
        status: fc.oneof(
          fc.constantFrom('', 'paused', 'running', 'stopped', 'PAUSED'),
          fc.string(),
        ),
        resources,
      }),
    ),
    call('signal', fc.record({ id: badId, pid, signal: u32 })),
    call(
      'updateProcess',
      fc.record({ id: badId, pid, closeStdin: fc.boolean(), width: u32, height: u32 }),
    ),
    call(
      'addProcess',
      fc.record({
        id: badId,
        terminal: fc.boolean(),
        user: fc.option(
          fc.record({ uid: u32, gid: u32, additionalGids: fc.array(u32, { maxLength: 3 }) }),
          { nil: undefined },
        ),
        args: strings,
        env: strings,
        cwd: path,
        pid,
        stdin: stdio,
        stdout: stdio,
        stderr: stdio,
        capabilities: fc.array(
          fc.oneof(fc.constantFrom('CAP_SYS_ADMIN', 'CAP_NOPE', ''), fc.string({ maxLength: 10 })),
          { maxLength: 3 },
        ),
        apparmorProfile: fc.string({ maxLength: 10 }),
        selinuxLabel: fc.string({ maxLength: 10 }),
        noNewPrivileges: fc.boolean(),
        rlimits: fc.array(
          fc.record({
            type: fc.oneof(
              fc.constantFrom('RLIMIT_NOFILE', 'RLIMIT_NOPE', ''),
              fc.string({ maxLength: 10 }),
            ),
            soft: u64,
            hard: u64,
          }),
          { maxLength: 2 },
        ),
      }),
    ),
    call(
      'createCheckpoint',
      fc.record({ id: badId, checkpoint, checkpointDir: fc.oneof(fc.constant(''), path) }),
    ),
    call(
      'deleteCheckpoint',
      fc.record({
        id: badId,
        name: fc.oneof(fc.constantFrom('', '..', 'a/b', '/', 'a\0b'), fc.string({ maxLength: 20 })),
        checkpointDir: fc.oneof(fc.constant(''), path),
      }),
    ),
    call(
      'listCheckpoint',
      fc.record({ id: badId, checkpointDir: fc.oneof(fc.constant(''), path) }),
    ),
    call('state', fc.record({ id: badId })),
    call('stats', fc.record({ id: badId })),
    call('getServerVersion', fc.constant({})),
    call('events', fc.record({ timestamp, storedOnly: fc.boolean(), id: badId })),
  );

  /** One call's final status; events streams are read for a moment, then cancelled. */
  async function run({ rpc, req }: Call): Promise<{ code: GrpcStatus; details: string }> {
    if (rpc === 'events') {
      const stream = client.raw.events(req as never);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          stream.cancel();
          resolve({ code: GrpcStatus.OK, details: 'stream open' });
        }, 30);
        stream.on('data', () => {});
        stream.on('error', () => {});
        stream.on('status', (s: { code: GrpcStatus; details: string }) => {
          clearTimeout(timer);
          resolve(
            s.code === GrpcStatus.CANCELLED ? { code: GrpcStatus.OK, details: 'cancelled' } : s,
          );
        });
      });
    }
    try {
      await (client as unknown as Record<string, (r: unknown) => Promise<unknown>>)[rpc]!(req);
      return { code: GrpcStatus.OK, details: '' };
    } catch (err) {
      const e = err as ServiceError;
      return { code: e.code, details: e.details };
    }
  }

  const seen = new Map<string, number>();

  test('every RPC refuses malformed and random input with a proper status', async () => {
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(calls, async (c) => {
        tried++;
        const { code, details } = await run(c);
        const key = `${c.rpc}:${GrpcStatus[code]}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        assert.ok(
          REFUSALS.has(code),
          `${c.rpc} ended ${GrpcStatus[code]} (${details}) for ${JSON.stringify(c.req, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'string' && v.length > 200 ? `${v.slice(0, 20)}…(${v.length})` : v))}`,
        );
        assert.ok(daemon.alive(), `berthd died: ${daemon.log().slice(-2000)}`);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log(
      `fuzzed ${tried} requests (seed ${SEED}): ${JSON.stringify(Object.fromEntries(seen))}`,
    );
    const version = await client.getServerVersion({});
    assert.ok(version.revision.length > 0);
  });

  test('raw garbage and oversized bodies end with a status; berthd stays alive', async () => {
    const methods = [
      'GetServerVersion',
      'CreateContainer',
      'UpdateContainer',
      'Signal',
      'UpdateProcess',
      'AddProcess',
      'CreateCheckpoint',
      'DeleteCheckpoint',
      'ListCheckpoint',
      'State',
      'Stats',
    ];
    const identity = (b: Buffer) => b;
    const definition = Object.fromEntries(
      methods.map((m) => [
        m,
        {
          path: `/types.API/${m}`,
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      ]),
    );
    const Raw = makeGenericClientConstructor(definition, 'API');
    const raw = new Raw(daemon.address, credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    }) as unknown as Record<string, (b: Buffer, cb: (err: ServiceError | null) => void) => void>;
    const send = (m: string, body: Buffer) =>
      new Promise<{ code: GrpcStatus; details: string }>((resolve) =>
        raw[m]!.call(raw, body, (err) =>
          resolve(
            err ? { code: err.code, details: err.details } : { code: GrpcStatus.OK, details: '' },
          ),
        ),
      );
    let tried = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...methods),
          fc.uint8Array({ maxLength: 300 }),
          async (m, bytes) => {
            tried++;
            const { code, details } = await send(m, Buffer.from(bytes));
            // grpc-js itself answers INTERNAL for bytes that do not decode.
            assert.ok(
              REFUSALS.has(code) ||
                (code === GrpcStatus.INTERNAL && /deserializ|parse|decod/i.test(details)),
              `${m} ended ${GrpcStatus[code]} (${details}) for ${Buffer.from(bytes).toString('hex')}`,
            );
            assert.ok(daemon.alive(), 'berthd died');
          },
        ),
        { seed: SEED, numRuns: Math.max(50, Math.floor(RUNS / 3)), endOnFailure: true },
      );
      for (const m of ['CreateContainer', 'State', 'GetServerVersion']) {
        tried++;
        const big = await send(m, Buffer.alloc(8 * 1024 * 1024, 0x0a));
        assert.equal(
          big.code,
          GrpcStatus.RESOURCE_EXHAUSTED,
          `${m} with 8 MB: ${GrpcStatus[big.code]} ${big.details}`,
        );
      }
    } finally {
      (raw as unknown as { close(): void }).close();
    }
    console.log(`sent ${tried} raw bodies`);
    assert.ok(daemon.alive(), 'berthd died');
    assert.ok((await client.getServerVersion({})).revision.length > 0);
  });

  test('nothing is left behind', async () => {
    const state = await client.state({ id: '' });
    assert.deepEqual(
      state.containers.map((c) => c.id),
      [],
      'containers left',
    );
    assert.deepEqual(leftBehind(daemon.stateDir), { folders: [], runtime: [], processes: [] });
  });
});
