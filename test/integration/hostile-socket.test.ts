/**
 * Hostile clients, part 2: the socket is owner-only (0600, root's), so a
 * process of another user cannot connect while root can; ids that would walk
 * out of the state dir are refused and nothing appears outside it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { writeBundle } from '../../support/busybox.js';
import { connect, type TestClient } from '../helpers/api-client.js';
import { createRequest } from '../helpers/berthd-load.js';
import { leftBehind, startHostileBerthd, type HostileDaemon } from '../helpers/hostile-daemon.js';

/** Runs a connect attempt on `socket` as uid/gid 65534 (nobody); resolves with what it printed. */
function connectAsNobody(socket: string): Promise<string> {
  const script = `const s = require('net').connect(${JSON.stringify(socket)});
s.on('connect', () => { console.log('CONNECTED'); s.destroy(); });
s.on('error', (e) => console.log('ERROR ' + e.code));`;
  return new Promise((resolvePromise, reject) =>
    execFile(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
      { timeout: 10_000 },
      (err, stdout, stderr) =>
        err && !stdout
          ? reject(new Error(`${err.message}: ${stderr}`))
          : resolvePromise(stdout.trim()),
    ),
  );
}

describe('berthd’s socket and ids against other users and path tricks', async () => {
  const daemon: HostileDaemon = await startHostileBerthd();
  const client: TestClient = connect(daemon.address);
  after(async () => {
    client.close();
    await daemon.stop();
  });

  test('the socket is 0600 and root’s; another user cannot connect, root can', async () => {
    const stat = statSync(daemon.socket);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600);
    assert.equal(stat.uid, 0);
    assert.equal(stat.gid, 0);
    // Let others reach the socket's folder, so that only the socket's own mode stops them.
    chmodSync(dirname(daemon.socket), 0o711);
    assert.equal(await connectAsNobody(daemon.socket), 'ERROR EACCES');
    assert.ok((await client.getServerVersion({})).revision.length > 0);
    assert.ok(daemon.alive());
  });

  test('ids that walk out of the state dir are refused; nothing appears outside it', async (t) => {
    const bundle = writeBundle(join(daemon.base, 'bundle'), { args: ['sleep', '30'] });
    const tag = `esc-${process.pid}-${Date.now().toString(36)}`;
    const ids = [
      '..',
      '.',
      `a/../../${tag}`,
      `../${tag}`,
      `../../${tag}`,
      `/${tag}`,
      `${tag}/..`,
      `a/b`,
      '.runtime',
      '.pending',
    ];
    const parentBefore = readdirSync(daemon.base).sort();
    const tmpBefore = readdirSync(tmpdir()).filter((n) => n.includes(tag));
    for (const id of ids)
      await t.test(JSON.stringify(id), async () => {
        await assert.rejects(
          client.createContainer(createRequest(id, bundle)),
          (err: ServiceError) => {
            assert.equal(
              err.code,
              GrpcStatus.INVALID_ARGUMENT,
              `${id}: ${GrpcStatus[err.code]} ${err.details}`,
            );
            return true;
          },
        );
        assert.equal(existsSync(resolve(daemon.stateDir, id, 'state.json')), false, id);
      });
    assert.deepEqual(
      readdirSync(daemon.base).sort(),
      parentBefore,
      'the state dir’s parent changed',
    );
    assert.deepEqual(
      readdirSync(tmpdir()).filter((n) => n.includes(tag)),
      tmpBefore,
    );
    assert.equal(existsSync(join(daemon.base, tag)), false);
    assert.equal(existsSync(join(dirname(daemon.base), tag)), false);
    assert.equal(existsSync(`/${tag}`), false);
    assert.deepEqual((await client.state({ id: '' })).containers, []);
    assert.deepEqual(leftBehind(daemon.stateDir), { folders: [], runtime: [], processes: [] });
  });
});
