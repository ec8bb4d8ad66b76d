/**
 * Hostile clients, part 3: a CreateContainer whose stdout is a FIFO the
 * client made and never opens. The call must end within the start timeout
 * (berthd --start-timeout 2s) with a clear error, and while it waits other
 * clients' State and CreateContainer must be served promptly (< 1 s).
 * Nothing may be left behind.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceError } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { writeBundle } from '../../support/busybox.js';
import { connect, type TestClient } from '../helpers/api-client.js';
import { createRequest } from '../helpers/berthd-load.js';
import { leftBehind, startHostileBerthd, type HostileDaemon } from '../helpers/hostile-daemon.js';

describe('a FIFO no one opens does not hold berthd up', async () => {
  const daemon: HostileDaemon = await startHostileBerthd(['--start-timeout', '2s']);
  const stuck: TestClient = connect(daemon.address);
  const other: TestClient = connect(daemon.address);
  after(async () => {
    stuck.close();
    other.close();
    await daemon.stop();
  });

  test('the stuck create ends within the start timeout; others are served meanwhile', async () => {
    const bundle = writeBundle(join(daemon.base, 'bundle'), { args: ['sleep', '30'] });
    const fifo = join(daemon.base, 'never-opened');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const outcome = stuck.createContainer(createRequest('stuck', bundle, { stdout: fifo })).then(
      () => ({ ok: true as const, ms: Date.now() - started }),
      (err: ServiceError) => ({ ok: false as const, err, ms: Date.now() - started }),
    );
    await sleep(300);

    let t = Date.now();
    const state = await other.state({ id: '' });
    const stateMs = Date.now() - t;
    assert.ok(stateMs < 1000, `State took ${stateMs} ms while a create waits`);
    assert.ok(!state.containers.some((c) => c.id === 'stuck' && c.status === 'running'));

    t = Date.now();
    const created = await other.createContainer(createRequest('bystander', bundle));
    const createMs = Date.now() - t;
    assert.ok(createMs < 1000, `CreateContainer took ${createMs} ms while another create waits`);
    assert.equal(created.container?.id, 'bystander');

    const result = await outcome;
    assert.equal(result.ok, false, 'the create with an unopened stdout FIFO succeeded');
    if (!result.ok) {
      assert.ok(result.ms < 2000 + 1500, `the stuck create took ${result.ms} ms`);
      assert.notEqual(result.err.code, GrpcStatus.INTERNAL, `INTERNAL: ${result.err.details}`);
      assert.notEqual(result.err.code, GrpcStatus.UNKNOWN, result.err.details);
      assert.match(result.err.details, /timed? ?out|timeout|stdout|fifo/i);
      console.log(
        `stuck create: ${GrpcStatus[result.err.code]} after ${result.ms} ms (${result.err.details}); State ${stateMs} ms, CreateContainer ${createMs} ms meanwhile`,
      );
    }
    assert.ok(daemon.alive());

    await other.signal({ id: 'bystander', pid: 'init', signal: 9 });
    const deadline = Date.now() + 10_000;
    while ((await other.state({ id: '' })).containers.length > 0) {
      assert.ok(Date.now() < deadline, 'containers did not go');
      await sleep(50);
    }
    assert.deepEqual(leftBehind(daemon.stateDir), { folders: [], runtime: [], processes: [] });
  });
});
