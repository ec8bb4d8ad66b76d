/**
 * The streaming server on real containers (busybox on runc, through the
 * runtime library): Exec, Attach and PortForward over SPDY/3.1 and
 * WebSocket, with our clients and with crictl v1.26 (Go's SPDY client, as
 * the kubelet's own tools use it); one-time tokens, refused upgrades, the
 * stream creation timeout, and nothing left running afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriServer } from '../../src/cri/server.js';
import { StreamingServer } from '../../src/cri/streaming/server.js';
import type { Container, ContainerProcess } from '../../src/index.js';
import { crictl, findCrictl } from '../helpers/crictl.js';
import { sandbox } from '../helpers/env.js';
import { RuntimeStreamingBackend } from '../helpers/streaming-backend.js';
import { collect, spdyClient, upgradeRequest, wsSession } from '../helpers/streaming-clients.js';

const box = sandbox();
const backend = new RuntimeStreamingBackend();
let streaming: StreamingServer;
let cri: CriServer;
const socket = join(box.base, 'cri.sock');
const binary = findCrictl();
if (!binary) console.log('# cri-streaming: crictl not found: its tests are skipped');

const execRequest = {
  containerId: 'shell',
  tty: false,
  stdin: true,
  stdout: true,
  stderr: true,
};

before(async () => {
  const shell = await box.create({ args: ['sleep', '1000'] });
  await (await shell.start()).start();
  backend.containers.set('shell', shell);
  // The pod: an echo server on 7777 in the container's own network namespace.
  const pod = await box.create({ args: ['nc', '-ll', '-p', '7777', '-e', 'cat'] });
  await (await pod.start()).start();
  backend.containers.set('pod', pod);
  streaming = await StreamingServer.listen({ backend, streamCreationTimeoutMs: 3000 });
  cri = await CriServer.listen(`unix://${socket}`, { streaming, graceMs: 500 });
});

after(async () => {
  try {
    await cri?.close();
    await streaming?.close();
    const running = new Set(backend.started);
    for (const process of backend.started)
      void process.wait().finally(() => running.delete(process));
    for (let waited = 0; running.size > 0 && waited < 100; waited++) await sleep(100);
    assert.deepEqual(
      [...running].map((p) => p.id),
      [],
      'every process a session started has exited',
    );
  } finally {
    await box.cleanup();
  }
});

function status(text: string | undefined): Record<string, unknown> {
  assert.ok(text, 'a status on the error channel');
  return JSON.parse(text) as Record<string, unknown>;
}

describe('exec over SPDY (our client)', () => {
  test('stdin, stdout, stderr and a non-zero exit as a v4 status', async () => {
    const url = await streaming.execUrl({
      ...execRequest,
      cmd: ['sh', '-c', 'cat; echo err >&2; exit 5'],
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{11}$/);
    const client = await spdyClient(url, ['v4.channel.k8s.io', 'v3.channel.k8s.io']);
    assert.equal(client.protocol, 'v4.channel.k8s.io');
    const error = await client.open({ streamtype: 'error' });
    const stdin = await client.open({ streamtype: 'stdin' });
    const stdout = await client.open({ streamtype: 'stdout' });
    const stderr = await client.open({ streamtype: 'stderr' });
    const [out, err, errorText] = [collect(stdout), collect(stderr), collect(error)];
    stdin.end('hello\n');
    assert.equal(await out, 'hello\n');
    assert.equal(await err, 'err\n');
    assert.deepEqual(status(await errorText), {
      metadata: {},
      status: 'Failure',
      message:
        'command terminated with non-zero exit code: error executing command [sh -c cat; echo err >&2; exit 5], exit code 5',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '5' }] },
    });
    client.close();
  });

  test('a tty takes the sizes sent on the resize stream', async () => {
    const url = await streaming.execUrl({
      ...execRequest,
      stderr: false,
      tty: true,
      cmd: ['sh', '-c', 'read go; stty size'],
    });
    const client = await spdyClient(url, ['v4.channel.k8s.io']);
    const error = await client.open({ streamtype: 'error' });
    const stdin = await client.open({ streamtype: 'stdin' });
    const stdout = await client.open({ streamtype: 'stdout' });
    const resize = await client.open({ streamtype: 'resize' });
    const [out, errorText] = [collect(stdout), collect(error)];
    // Cut across writes, as a JSON decoder on a stream must take it.
    resize.write('{"Width":91,');
    resize.write('"Height":33}{"Width":');
    resize.write('120,"Height":40}');
    await sleep(500);
    stdin.write('go\r');
    assert.match(await out, /40 120/);
    assert.deepEqual(status(await errorText), { metadata: {}, status: 'Success' });
    client.close();
  });

  test('a session whose streams do not all arrive is cut off after the creation timeout', async () => {
    const url = await streaming.execUrl({ ...execRequest, cmd: ['true'] });
    const client = await spdyClient(url, ['v4.channel.k8s.io']);
    await client.open({ streamtype: 'error' });
    const started = Date.now();
    await new Promise((resolve) => client.socket.once('close', resolve));
    const waited = Date.now() - started;
    assert.ok(waited >= 2500 && waited < 6000, `closed after ${waited} ms`);
  });
});

describe('exec and attach over WebSocket', () => {
  test('v5: stdin closed by the close message, outputs and status on their channels', async () => {
    const url = await streaming.execUrl({
      ...execRequest,
      cmd: ['sh', '-c', 'cat; echo err >&2; exit 2'],
    });
    const session = await wsSession(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    assert.equal(session.ws.protocol, 'v5.channel.k8s.io');
    session.send(0, 'abc\n');
    session.send(255, Buffer.from([0]));
    assert.equal(await session.closed, 1000);
    assert.equal(session.channels.get(1), 'abc\n');
    assert.equal(session.channels.get(2), 'err\n');
    const result = status(session.channels.get(3));
    assert.equal(result.reason, 'NonZeroExitCode');
    assert.deepEqual(result.details, { causes: [{ reason: 'ExitCode', message: '2' }] });
  });

  test('v4 with a tty: resize on channel 4, success status', async () => {
    const url = await streaming.execUrl({
      ...execRequest,
      stderr: false,
      tty: true,
      cmd: ['sh', '-c', 'read go; stty size'],
    });
    // A protocol the server does not speak, offered first, is passed over.
    const session = await wsSession(url, ['base64.channel.k8s.io', 'v4.channel.k8s.io']);
    assert.equal(session.ws.protocol, 'v4.channel.k8s.io');
    session.send(4, '{"Width":77,"Height":22}');
    await sleep(500);
    session.send(0, 'go\r');
    assert.equal(await session.closed, 1000);
    assert.match(session.channels.get(1) ?? '', /22 77/);
    assert.deepEqual(status(session.channels.get(3)), { metadata: {}, status: 'Success' });
  });

  test('attach joins the container’s own process until it exits', async () => {
    const container: Container = await box.create({
      args: ['sh', '-c', 'read line; echo "got $line"; echo bye >&2'],
    });
    const init: ContainerProcess<Container> = await container.start({
      stdio: { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' },
    });
    await init.start();
    backend.attachable.set('attached', { container, init });
    const url = await streaming.attachUrl({
      containerId: 'attached',
      stdin: true,
      stdout: true,
      stderr: true,
      tty: false,
    });
    assert.match(url, /\/attach\//);
    const session = await wsSession(url, ['v4.channel.k8s.io']);
    session.send(0, 'hi\n');
    assert.equal(await session.closed, 1000);
    assert.equal(session.channels.get(1), 'got hi\n');
    assert.equal(session.channels.get(2), 'bye\n');
    assert.deepEqual(status(session.channels.get(3)), { metadata: {}, status: 'Success' });
    assert.equal(await init.wait(), 0);
  });
});

describe('tokens and refused requests', () => {
  test('a token works once, for its own endpoint only; unknown ones are 404', async () => {
    const url = await streaming.execUrl({ ...execRequest, cmd: ['true'] });
    const onAttach = await upgradeRequest(url.replace('/exec/', '/attach/'), {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
    });
    assert.equal(onAttach.status, 404);
    // Redeeming it on the wrong endpoint used it up.
    const again = await upgradeRequest(url, {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
    });
    assert.equal(again.status, 404);
    assert.match(again.body, /unknown or expired streaming token/);
    const unknown = await upgradeRequest(`${streaming.baseUrl}/exec/AAAAAAAAAAA`, {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
    });
    assert.equal(unknown.status, 404);
  });

  test('no common protocol: 403 naming the accepted ones; no upgrade: 400', async () => {
    const url = await streaming.execUrl({ ...execRequest, cmd: ['true'] });
    const refused = await upgradeRequest(url, {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v9.channel.k8s.io',
    });
    assert.equal(refused.status, 403);
    assert.equal(
      refused.headers['x-accepted-stream-protocol-versions'],
      'v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io',
    );
    const plain = await upgradeRequest(
      await streaming.execUrl({ ...execRequest, cmd: ['true'] }),
      { Connection: 'close' },
      'GET',
    );
    assert.equal(plain.status, 400);
  });

  test('bad requests get typed errors and no URL', async () => {
    await assert.rejects(streaming.execUrl({ ...execRequest, cmd: [] }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    await assert.rejects(streaming.execUrl({ ...execRequest, tty: true, cmd: ['sh'] }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /tty and stderr/,
    });
    await assert.rejects(
      streaming.attachUrl({
        containerId: 'x',
        stdin: false,
        stdout: false,
        stderr: false,
        tty: false,
      }),
      { code: 'ERR_INVALID_ARGUMENT' },
    );
    await assert.rejects(streaming.execUrl({ ...execRequest, containerId: '', cmd: ['true'] }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    await assert.rejects(streaming.portForwardUrl({ podSandboxId: 'pod', port: [70000] }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});

describe(
  'crictl v1.26 through the CRI server',
  // A session that never ends must fail the test, not hold the whole run.
  { skip: binary ? false : 'crictl not found', timeout: 60_000 },
  () => {
    test('crictl exec: outputs, exit status, stdin, and 3 MB without stalling', async () => {
      const failed = await crictl(binary!, socket, [
        'exec',
        'shell',
        'sh',
        '-c',
        'echo out; echo err >&2; exit 3',
      ]);
      assert.equal(failed.stdout, 'out\n');
      assert.match(failed.stderr, /^err$/m);
      assert.match(failed.stderr, /command terminated with exit code 3/);
      assert.notEqual(failed.status, 0);

      const echoed = await crictl(
        binary!,
        socket,
        ['exec', '-i', 'shell', 'sh', '-c', 'cat; echo done'],
        'abc\n',
      );
      assert.equal(echoed.status, 0, echoed.stderr);
      assert.equal(echoed.stdout, 'abc\ndone\n');

      const big = await crictl(binary!, socket, [
        'exec',
        'shell',
        'head',
        '-c',
        '3000000',
        '/dev/zero',
      ]);
      assert.equal(big.status, 0, big.stderr);
      assert.equal(big.stdout.length, 3_000_000);
    });

    test('crictl port-forward: bytes cross the pod’s network namespace, connection after connection', async () => {
      const child = spawn(binary!, [
        '--config',
        '/dev/null',
        '--runtime-endpoint',
        `unix://${socket}`,
        'port-forward',
        'pod',
        ':7777',
      ]);
      try {
        let said = '';
        const port = await new Promise<number>((resolve, reject) => {
          let text = '';
          const onData = (chunk: Buffer) => {
            text += chunk.toString();
            said = text;
            const match = /Forwarding from 127\.0\.0\.1:(\d+) -> 7777/.exec(text);
            if (match) resolve(Number(match[1]));
          };
          child.stdout.on('data', onData);
          child.stderr.on('data', onData);
          child.once('exit', (code) => reject(new Error(`crictl exited ${code}: ${text}`)));
        });
        for (const word of ['ping', 'pong']) {
          const echoed = await new Promise<string>((resolve, reject) => {
            const conn = connect({ host: '127.0.0.1', port }, () => conn.write(`${word}\n`));
            let text = '';
            conn.on('data', (chunk: Buffer) => {
              text += chunk.toString();
              if (text.endsWith('\n')) {
                conn.end();
                resolve(text);
              }
            });
            conn.once('error', reject);
            conn.once('close', () =>
              reject(
                new Error(
                  `connection closed before a line came back: ${JSON.stringify(text)}; crictl said: ${said}`,
                ),
              ),
            );
          });
          assert.equal(echoed, `${word}\n`);
        }
        assert.equal(child.exitCode, null, 'crictl still forwarding');
      } finally {
        if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
        await new Promise((resolve) =>
          child.exitCode === null ? child.once('exit', resolve) : resolve(null),
        );
      }
    });
  },
);
