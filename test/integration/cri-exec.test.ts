/**
 * ExecSync and the streaming backend over a real Supervisor on runc, through
 * a CriServer: ExecSync's output, exit code, 16 MiB cap, timeout (the
 * process killed, DEADLINE_EXCEEDED), unknown (NOT_FOUND) and non-running
 * (FAILED_PRECONDITION) containers, and nothing left behind (FIFO folders,
 * process records); exec through the streaming server with our SPDY client
 * (stdio, exit status, a tty's size and TERM, a client that goes away) and
 * with crictl; port-forward with crictl into a real pod's network namespace
 * (RunPodSandbox with CNI), to a listener the test starts there.
 *
 * The containers are the test's own supervisor containers on the busybox
 * bundle, found through a test lookup (test/helpers/cri-lookup.ts) until the
 * CRI containers' own lookup is wired in.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { CriServer } from '../../src/cri/server.js';
import { StreamingServer } from '../../src/cri/streaming/server.js';
import { SupervisorStreamingBackend } from '../../src/cri/streaming-backend.js';
import { podSandboxesFrom } from '../../src/cri/runtime-service.js';
import type { PodSandboxes } from '../../src/cri/pods.js';
import {
  RuntimeServiceClient,
  type ExecSyncRequest,
  type ExecSyncResponse,
} from '../../src/cri/generated/api.js';
import { tempDir, writeBundle } from '../../support/busybox.js';
import { spawnBerthd, type BerthdProcess } from '../helpers/berthd-process.js';
import { crictl, findCrictl } from '../helpers/crictl.js';
import { TestContainerLookup } from '../helpers/cri-lookup.js';
import { podConfigFile, podEnv, type PodEnv } from '../helpers/cri-pod-env.js';
import { collect, spdyClient } from '../helpers/streaming-clients.js';

const base = tempDir('berth-cri-exec-');
const socket = join(base, 'cri.sock');
const criDir = join(base, 'cri');
const fifoDir = join(criDir, 'exec');
const binary = findCrictl();
if (!binary) console.log('# cri-exec: crictl not found: its crictl tests are skipped');

let supervisor: Supervisor;
let lookup: TestContainerLookup;
let streaming: StreamingServer;
let server: CriServer;
let client: RuntimeServiceClient;
let env: PodEnv | undefined;
let pods: PodSandboxes | undefined;
let backend: SupervisorStreamingBackend;
const shell = randomBytes(32).toString('hex');
const exited = randomBytes(32).toString('hex');

function execSync(request: Partial<ExecSyncRequest>): Promise<ExecSyncResponse> {
  return new Promise((resolve, reject) =>
    client.execSync(
      { containerId: shell, cmd: [], timeout: 0n, ...request },
      (err: ServiceError | null, response?: ExecSyncResponse) =>
        err ? reject(err) : resolve(response!),
    ),
  );
}

/** The shell container's processes, as the supervisor knows them. */
async function shellProcesses(): Promise<string[]> {
  const { containers } = await supervisor.state(shell);
  return containers[0]!.processes.map((p) => p.pid);
}

/** Polls until the shell has only its init process (an exec's record goes once it has exited). */
async function onlyInitLeft(): Promise<void> {
  for (let waited = 0; waited < 50; waited++) {
    if ((await shellProcesses()).join() === 'init') break;
    await sleep(100);
  }
  assert.deepEqual(await shellProcesses(), ['init'], 'no exec process left');
  assert.deepEqual(existsSync(fifoDir) ? readdirSync(fifoDir) : [], [], 'no FIFO folder left');
}

/** Our children running socat (port-forward's), by /proc. */
function socatChildren(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (stat.includes('(socat)') && Number(fields[1]) === process.pid) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

before(async () => {
  supervisor = await Supervisor.open({ stateDir: join(base, 'supervisor') });
  lookup = new TestContainerLookup(supervisor);
  await supervisor.createContainer({
    id: shell,
    bundlePath: writeBundle(join(base, 'shell'), {
      args: ['sleep', '2147483647'],
      env: ['PATH=/bin', 'HOME=/root'],
    }),
  });
  lookup.add({ id: shell });
  lookup.add({ id: exited, state: 'exited' });
  env = await podEnv(base);
  pods = podSandboxesFrom({
    supervisor,
    store: env.store,
    criStateDir: criDir,
    cniConfDir: env.cniConfDir,
    netnsDir: env.netnsDir,
    sandboxImage: env.sandboxImage,
    sandboxCommand: env.sandboxCommand,
  });
  backend = new SupervisorStreamingBackend({
    supervisor,
    lookup,
    fifoRoot: fifoDir,
    ...(pods ? { pods } : {}),
  });
  streaming = await StreamingServer.listen({ backend, streamCreationTimeoutMs: 5000 });
  server = await CriServer.listen(`unix://${socket}`, {
    supervisor,
    store: env.store,
    criStateDir: criDir,
    cniConfDir: env.cniConfDir,
    ...(pods ? { pods } : {}),
    containerLookup: lookup,
    execFifoDir: fifoDir,
    streaming,
    graceMs: 1000,
  });
  client = new RuntimeServiceClient(`unix://${socket}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  });
});

after(async () => {
  client?.close();
  try {
    for (const record of (await pods?.store.list()) ?? []) {
      await pods!.remove(record.id).catch(() => undefined);
    }
    await supervisor?.signal(shell, 'init', 9).catch(() => undefined);
    for (let waited = 0; waited < 100; waited++) {
      const gone = await supervisor.state(shell).then(
        () => false,
        () => true,
      );
      if (gone) break;
      await sleep(100);
    }
    await server?.close();
    await streaming?.close();
    await supervisor?.close();
  } finally {
    await env?.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});

describe('ExecSync', () => {
  test('stdout, stderr and the exit code', async () => {
    const response = await execSync({
      cmd: ['sh', '-c', 'echo out; echo err >&2; echo "home=$HOME"; exit 3'],
    });
    assert.equal(response.stdout.toString(), 'out\nhome=/root\n');
    assert.equal(response.stderr.toString(), 'err\n');
    assert.equal(response.exitCode, 3);
    await onlyInitLeft();
  });

  test('a unique id prefix names the container; exit 0 with no output', async () => {
    const response = await execSync({ containerId: shell.slice(0, 8), cmd: ['true'] });
    assert.equal(response.exitCode, 0);
    assert.equal(response.stdout.length, 0);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 5; i++) assert.equal((await execSync({ cmd: ['true'] })).exitCode, 0);
    const perCall = Number(process.hrtime.bigint() - started) / 5 / 1e6;
    console.log(`# ExecSync of true: ${perCall.toFixed(0)} ms per call`);
  });

  test('each output is kept up to 16 MiB, the rest read and dropped', async () => {
    const response = await execSync({
      cmd: ['sh', '-c', 'head -c 17000000 /dev/zero; echo small >&2'],
    });
    assert.equal(response.exitCode, 0);
    assert.equal(response.stdout.length, 16 * 1024 * 1024);
    assert.equal(response.stderr.toString(), 'small\n');
  });

  test('past its timeout the command is killed and the call is DEADLINE_EXCEEDED', async () => {
    const started = Date.now();
    await assert.rejects(execSync({ cmd: ['sleep', '60'], timeout: 1n }), (err: ServiceError) => {
      assert.equal(err.code, GrpcStatus.DEADLINE_EXCEEDED, err.details);
      assert.match(err.details, /timeout 1s exceeded/);
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 8000, `answered after ${took} ms`);
    await onlyInitLeft();
  });

  test('unknown container: NOT_FOUND; not running: FAILED_PRECONDITION; no command: INVALID_ARGUMENT', async () => {
    await assert.rejects(execSync({ containerId: 'f'.repeat(64), cmd: ['true'] }), {
      code: GrpcStatus.NOT_FOUND,
    });
    await assert.rejects(execSync({ containerId: exited, cmd: ['true'] }), {
      code: GrpcStatus.FAILED_PRECONDITION,
    });
    await assert.rejects(execSync({ cmd: [] }), { code: GrpcStatus.INVALID_ARGUMENT });
    await assert.rejects(execSync({ cmd: ['true'], timeout: -1n }), {
      code: GrpcStatus.INVALID_ARGUMENT,
    });
    await onlyInitLeft();
  });

  test('crictl exec --sync', async (t) => {
    if (!binary) return t.skip('crictl not found (set CRICTL)');
    const ok = await crictl(binary, socket, ['exec', '-s', shell, 'sh', '-c', 'echo hi']);
    assert.equal(ok.status, 0, ok.stderr);
    // crictl prints stdout, then stderr, each with Println.
    assert.equal(ok.stdout.trim(), 'hi');
    // A non-zero exit: crictl fails naming it.
    const failed = await crictl(binary, socket, ['exec', '-s', shell, 'sh', '-c', 'exit 4']);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /exited with 4/);
  });
});

function status(text: string): Record<string, unknown> {
  assert.ok(text, 'a status on the error stream');
  return JSON.parse(text) as Record<string, unknown>;
}

describe('exec through the streaming server', () => {
  const request = { containerId: shell, tty: false, stdin: true, stdout: true, stderr: true };

  test('SPDY: stdin, stdout, stderr and the exit status', async () => {
    const url = await streaming.execUrl({
      ...request,
      cmd: ['sh', '-c', 'cat; echo err >&2; exit 5'],
    });
    const spdy = await spdyClient(url, ['v4.channel.k8s.io']);
    const error = await spdy.open({ streamtype: 'error' });
    const stdin = await spdy.open({ streamtype: 'stdin' });
    const stdout = await spdy.open({ streamtype: 'stdout' });
    const stderr = await spdy.open({ streamtype: 'stderr' });
    const [out, err, errorText] = [collect(stdout), collect(stderr), collect(error)];
    stdin.end('hello\n');
    assert.equal(await out, 'hello\n');
    assert.equal(await err, 'err\n');
    const result = status(await errorText);
    assert.equal(result.reason, 'NonZeroExitCode');
    assert.deepEqual(result.details, { causes: [{ reason: 'ExitCode', message: '5' }] });
    spdy.close();
    await onlyInitLeft();
  });

  test('a tty: the sizes sent are the terminal’s, TERM is xterm, the rest of the env is the container’s', async () => {
    const url = await streaming.execUrl({
      ...request,
      stderr: false,
      tty: true,
      cmd: ['sh', '-c', 'read go; stty size; echo "$TERM $HOME"'],
    });
    const spdy = await spdyClient(url, ['v4.channel.k8s.io']);
    const error = await spdy.open({ streamtype: 'error' });
    const stdin = await spdy.open({ streamtype: 'stdin' });
    const stdout = await spdy.open({ streamtype: 'stdout' });
    const resize = await spdy.open({ streamtype: 'resize' });
    const [out, errorText] = [collect(stdout), collect(error)];
    resize.write('{"Width":120,"Height":40}');
    await sleep(500);
    stdin.write('go\r');
    const text = await out;
    assert.match(text, /40 120/);
    assert.match(text, /xterm \/root/);
    assert.deepEqual(status(await errorText), { metadata: {}, status: 'Success' });
    spdy.close();
    await onlyInitLeft();
  });

  test('a client that goes away: its exec is killed, nothing left', async () => {
    const url = await streaming.execUrl({
      ...request,
      stdin: false,
      stderr: false,
      cmd: ['sleep', '600'],
    });
    const spdy = await spdyClient(url, ['v4.channel.k8s.io']);
    await spdy.open({ streamtype: 'error' });
    await spdy.open({ streamtype: 'stdout' });
    for (let waited = 0; waited < 50 && (await shellProcesses()).length < 2; waited++)
      await sleep(100);
    assert.equal((await shellProcesses()).length, 2, 'the exec runs');
    spdy.close();
    await onlyInitLeft();
  });

  test('exec in a container that is not running is refused with the reason', async () => {
    await assert.rejects(
      backend.exec(exited, ['true'], {
        tty: false,
        stdin: null,
        stdout: null,
        stderr: null,
        resize: null,
        signal: new AbortController().signal,
      }),
      { code: 'ERR_CRI_CONTAINER_NOT_RUNNING' },
    );
    await assert.rejects(backend.attach(shell, {} as never), { code: 'ERR_ATTACH_UNAVAILABLE' });
  });

  test('crictl exec -i: input in, output out', async (t) => {
    if (!binary) return t.skip('crictl not found (set CRICTL)');
    const echoed = await crictl(
      binary,
      socket,
      ['exec', '-i', shell, 'sh', '-c', 'cat; echo done'],
      'abc\n',
    );
    assert.equal(echoed.status, 0, echoed.stderr);
    assert.equal(echoed.stdout, 'abc\ndone\n');
    await onlyInitLeft();
  });
});

/** A line sent to 127.0.0.1:port, the line that comes back. */
function echoLine(port: number, word: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
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
    conn.once('close', () => reject(new Error(`closed before a line: ${JSON.stringify(text)}`)));
  });
}

describe('port-forward into a pod', () => {
  test('crictl port-forward reaches a listener in the pod’s network namespace only', async (t) => {
    if (!binary) return t.skip('crictl not found (set CRICTL)');
    const ran = await crictl(binary, socket, ['runp', podConfigFile(env!, 'forward')]);
    assert.equal(ran.status, 0, ran.stderr);
    const podId = ran.stdout.trim();
    const netns = (await pods!.store.load(podId))!.network!.netns;
    // An echo server on 7777 inside the pod's network only: the host's 127.0.0.1:7777 is not it.
    const listener = spawn('nsenter', [
      `--net=${netns}`,
      '--',
      'busybox',
      'nc',
      '-ll',
      '-p',
      '7777',
      '-e',
      'cat',
    ]);
    let forwarder: ChildProcess | undefined;
    try {
      await sleep(300);
      forwarder = spawn(binary, [
        '--config',
        '/dev/null',
        '--runtime-endpoint',
        `unix://${socket}`,
        'port-forward',
        podId,
        ':7777',
      ]);
      const child = forwarder;
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        const onData = (chunk: Buffer) => {
          text += chunk.toString();
          const match = /Forwarding from 127\.0\.0\.1:(\d+) -> 7777/.exec(text);
          if (match) resolve(Number(match[1]));
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`crictl exited ${code}: ${text}`)));
      });
      for (const word of ['ping', 'pong']) assert.equal(await echoLine(port, word), `${word}\n`);
      assert.equal(child.exitCode, null, 'crictl still forwarding');
      // Each connection's socat has gone with it.
      for (let waited = 0; waited < 30 && socatChildren().length; waited++) await sleep(100);
      assert.deepEqual(socatChildren(), [], 'no socat left');
    } finally {
      for (const child of [forwarder, listener]) {
        if (child?.pid && child.exitCode === null) {
          process.kill(child.pid, 'SIGKILL');
          await new Promise((resolve) => child.once('exit', resolve));
        }
      }
    }
    await pods!.remove(podId);
  });

  test('a host-network pod: the host’s own port, by a plain connection', async (t) => {
    if (!binary) return t.skip('crictl not found (set CRICTL)');
    const ran = await crictl(binary, socket, [
      'runp',
      podConfigFile(env!, 'hostnet', {
        linux: {
          cgroup_parent: env!.cgroupParent,
          security_context: { namespace_options: { network: 2 } },
        },
      }),
    ]);
    assert.equal(ran.status, 0, ran.stderr);
    const podId = ran.stdout.trim();
    const echo = createServer((conn) => conn.pipe(conn));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const port = (echo.address() as AddressInfo).port;
      // The client's side: what it sends, what it is sent back.
      const sent = new PassThrough();
      const back = new PassThrough();
      const received = collect(back);
      const stream = Duplex.from({ readable: sent, writable: back });
      const forwarding = backend.portForward(podId, port, stream, new AbortController().signal);
      // Its end ends the connection both ways once the echo has come back.
      sent.end('over the host\n');
      await forwarding;
      assert.equal(await received, 'over the host\n');
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
    await pods!.remove(podId);
  });

  test('nobody listening: the forward fails with socat’s words; unknown pods are NOT_FOUND', async (t) => {
    if (!binary) return t.skip('crictl not found (set CRICTL)');
    const ran = await crictl(binary, socket, ['runp', podConfigFile(env!, 'refused')]);
    assert.equal(ran.status, 0, ran.stderr);
    const podId = ran.stdout.trim();
    const stream = new PassThrough();
    await assert.rejects(
      backend.portForward(podId.slice(0, 10), 7778, stream, new AbortController().signal),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_PORT_FORWARD');
        assert.match(err.message, /Connection refused/);
        return true;
      },
    );
    await assert.rejects(
      backend.portForward('0'.repeat(64), 7778, stream, new AbortController().signal),
      { code: 'ERR_POD_SANDBOX_NOT_FOUND' },
    );
    await assert.rejects(backend.portForward(podId, 0, stream, new AbortController().signal), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.deepEqual(socatChildren(), [], 'no socat left');
    await pods!.remove(podId);
  });
});

describe('berthd serves them', () => {
  test('ExecSync, stats and port-forward answer through berthd; stale exec FIFO folders go at start', async (t) => {
    if (!binary) return t.skip('crictl not found (set CRICTL)');
    const stateDir = join(base, 'berthd-state');
    const stale = join(stateDir, '.cri', 'exec', 'exec-0123456789abcdef');
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'stdout'), '');
    const criSocket = join(base, 'berthd-cri.sock');
    let daemon: BerthdProcess | undefined;
    try {
      daemon = await spawnBerthd(stateDir, join(base, 'berthd.sock'), [
        '--cri-listen',
        `unix://${criSocket}`,
        '--store',
        join(base, 'berthd-store'),
        '--cni-conf-dir',
        join(base, 'berthd-net.d'),
      ]);
      assert.equal(existsSync(stale), false, 'the stale FIFO folder is gone');
      // No CRI container is known to berthd yet: NOT_FOUND, not UNIMPLEMENTED.
      const sync = await crictl(binary, criSocket, ['exec', '-s', 'f'.repeat(64), 'true']);
      assert.equal(sync.status, 1);
      assert.match(sync.stderr, /NotFound/);
      const stats = await crictl(binary, criSocket, ['stats', '-o', 'json']);
      assert.equal(stats.status, 0, stats.stderr);
      assert.deepEqual(JSON.parse(stats.stdout), { stats: [] });
      const statsp = await crictl(binary, criSocket, ['statsp', '-o', 'json']);
      assert.equal(statsp.status, 0, statsp.stderr);
      assert.deepEqual(JSON.parse(statsp.stdout), { stats: [] });
    } finally {
      if (daemon && daemon.child.exitCode === null) {
        process.kill(daemon.pid, 'SIGTERM');
        await daemon.exited;
      }
    }
  });
});
