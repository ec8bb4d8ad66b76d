/**
 * The CRI server answered by the reference client, crictl v1.26 (Go gRPC,
 * which sends the socket path as :authority): Version, Status (info), the
 * socket's mode, UNIMPLEMENTED for the rest, and close() leaving nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../../support/busybox.js';
import { CriServer } from '../../src/cri/server.js';
import { packageVersion } from '../../src/api/version.js';
import { crictl, findCrictl } from '../helpers/crictl.js';

const binary = findCrictl();
if (!binary)
  console.log('# cri-server: crictl not found ($CRICTL, PATH, /work/shared/tools): skipped');

describe('CRI server through crictl', { skip: binary ? false : 'crictl not found' }, () => {
  const base = tempDir();
  const socket = join(base, 'cri.sock');
  const cniConfDir = join(base, 'net.d');
  let server: CriServer;

  before(async () => {
    server = await CriServer.listen(`unix://${socket}`, { cniConfDir, graceMs: 1000 });
  });
  after(async () => {
    await server.close();
    rmSync(base, { recursive: true, force: true });
  });

  test('the socket is the owner’s only (0600)', () => {
    assert.equal(lstatSync(socket).mode & 0o777, 0o600);
  });

  test('crictl version: berth, package.json’s version, v1', async () => {
    const result = await crictl(binary!, socket, ['version']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^RuntimeName:\s+berth$/m);
    assert.match(
      result.stdout,
      new RegExp(`^RuntimeVersion:\\s+${packageVersion().replace(/\./g, '\\.')}$`, 'm'),
    );
    assert.match(result.stdout, /^RuntimeApiVersion:\s+v1$/m);
  });

  test('crictl info: runtime ready; network not ready until a CNI config exists', async () => {
    const before = await crictl(binary!, socket, ['info']);
    assert.equal(before.status, 0, before.stderr);
    const conditions = (
      JSON.parse(before.stdout) as {
        status: {
          conditions: { type: string; status: boolean; reason: string; message: string }[];
        };
      }
    ).status.conditions;
    assert.deepEqual(
      conditions.find((c) => c.type === 'RuntimeReady'),
      { type: 'RuntimeReady', status: true, reason: '', message: '' },
    );
    const network = conditions.find((c) => c.type === 'NetworkReady');
    assert.equal(network?.status, false);
    assert.equal(network?.reason, 'NetworkPluginNotReady');
    assert.match(network?.message ?? '', /no network config found/);

    mkdirSync(cniConfDir);
    writeFileSync(join(cniConfDir, '10-berth.conflist'), '{}');
    const after = await crictl(binary!, socket, ['info']);
    assert.equal(after.status, 0, after.stderr);
    const ready = (
      JSON.parse(after.stdout) as { status: { conditions: { type: string; status: boolean }[] } }
    ).status.conditions.find((c) => c.type === 'NetworkReady');
    assert.equal(ready?.status, true);
  });

  test('a client sending malformed HTTP/2 is cut off; the server goes on serving', async () => {
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
    // A HEADERS frame whose padding is longer than the frame.
    const frame = Buffer.from([0, 0, 3, 0x1, 0x8 | 0x4, 0, 0, 0, 1, 200, 1, 2]);
    const raw = connect({ path: socket });
    raw.on('error', () => {});
    raw.resume();
    raw.write(Buffer.concat([preface, frame]));
    await new Promise((resolve) => raw.once('close', resolve));
    const result = await crictl(binary!, socket, ['version']);
    assert.equal(result.status, 0, result.stderr);
  });

  test('an RPC not served yet: UNIMPLEMENTED, naming it', async () => {
    const pods = await crictl(binary!, socket, ['pods']);
    assert.notEqual(pods.status, 0);
    assert.match(pods.stderr, /Unimplemented desc = \/runtime\.v1\.RuntimeService\/ListPodSandbox/);
    const images = await crictl(binary!, socket, ['images']);
    assert.notEqual(images.status, 0);
    assert.match(
      images.stderr,
      /Unimplemented desc = \/runtime\.v1\.ImageService\/(ListImages|ImageFsInfo)/,
    );
  });
});

test('close() removes the socket; a second server on a stale socket replaces it', async () => {
  const base = tempDir();
  const socket = join(base, 'cri.sock');
  try {
    const first = await CriServer.listen(`unix://${socket}`, { graceMs: 500 });
    await assert.rejects(CriServer.listen(`unix://${socket}`), /in use/);
    await first.close();
    assert.equal(existsSync(socket), false);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
