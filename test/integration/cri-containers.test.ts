/**
 * CRI containers through a real berthd (`--cri-listen`, its own store and
 * state), the reference client crictl v1.26 and a gRPC client for what
 * crictl does not send (UpdateContainerResources, ReopenContainerLog),
 * in pods on Debian's CNI plugins with a bridge and subnet of the test's
 * own, images from a local docker-registry: create/start/ps/inspect/logs/
 * stop/rm, exit codes and reasons (Completed, Error, OOMKilled), the CRI log
 * format and its reopen, a berthd killed with SIGKILL and restarted (a
 * running container's output while it was down kept, an exit while it was
 * down recorded), and every bad input answered with nothing left behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';
import { RuntimeServiceClient } from '../../src/cri/generated/api.js';
import { mountPoints } from '../../src/runtime/index.js';
import { tempDir } from '../../support/busybox.js';
import { crictl, findCrictl } from '../helpers/crictl.js';
import { spawnBerthd, pidAlive, type BerthdProcess } from '../helpers/berthd-process.js';
import { buildTestImage, pushImage, startRegistry, type Registry } from '../helpers/registry.js';
import { run } from '../helpers/host-net.js';

const binary = findCrictl();
if (!binary)
  console.log('# cri-containers: crictl not found ($CRICTL, PATH, /work/shared/tools): skipped');

const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([FP]) (.*)$/;

interface Inspect {
  status: {
    id: string;
    state: string;
    exitCode: number;
    reason: string;
    message: string;
    createdAt: string;
    startedAt: string;
    finishedAt: string;
    imageRef: string;
    image: { image: string };
    labels: Record<string, string>;
    annotations: Record<string, string>;
    logPath: string;
    metadata: { name: string; attempt: number };
    resources?: { linux?: { memoryLimitInBytes: string; cpuShares: string } };
  };
  info: { pid: number; holder: { pid: number } | null; bundle: string; ioDir: string };
}

describe(
  'CRI containers through berthd and crictl',
  { skip: binary ? false : 'crictl not found' },
  () => {
    const base = tempDir('berth-cri-ctr-');
    const stateDir = join(base, 'state');
    const criDir = join(stateDir, '.cri');
    const storeDir = join(base, 'store');
    const socket = join(base, 'berthd.sock');
    const criSocket = join(base, 'cri.sock');
    const confDir = join(base, 'net.d');
    const logRoot = join(base, 'logs');
    const suffix = randomBytes(3).toString('hex');
    const BRIDGE = `berthctr${suffix}`;
    const THIRD_OCTET = randomBytes(1)[0]!;
    const CGROUP_PARENT = `/berthctr-${suffix}`;
    let registry: Registry;
    let imageRef: string;
    let daemon: BerthdProcess | undefined;
    let client: RuntimeServiceClient;
    const cri = (args: string[]) => crictl(binary!, criSocket, args);

    async function startBerthd(sandboxImage: string): Promise<void> {
      daemon = await spawnBerthd(stateDir, socket, [
        '--cri-listen',
        `unix://${criSocket}`,
        '--store',
        storeDir,
        '--cni-conf-dir',
        confDir,
        '--sandbox-image',
        sandboxImage,
      ]);
    }

    let sandboxImage: string;

    async function stopBerthd(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
      if (!daemon || daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
      process.kill(daemon.pid, signal);
      await daemon.exited;
    }

    function call<Req, Res>(method: keyof RuntimeServiceClient, request: Req): Promise<Res> {
      return new Promise((resolve, reject) => {
        const fn = client[method] as unknown as (
          request: Req,
          metadata: Metadata,
          callback: (err: Error | null, response: Res) => void,
        ) => void;
        fn.call(client, request, new Metadata(), (err, response) =>
          err ? reject(err) : resolve(response),
        );
      });
    }

    function podConfig(name: string): string {
      const path = join(base, `pod-${name}-${randomBytes(3).toString('hex')}.json`);
      writeFileSync(
        path,
        JSON.stringify({
          metadata: { name, namespace: 'default', uid: `uid-${name}-${suffix}`, attempt: 0 },
          hostname: name,
          log_directory: join(logRoot, name),
          linux: { cgroup_parent: CGROUP_PARENT },
        }),
      );
      return path;
    }

    function containerConfig(name: string, extra: Record<string, unknown> = {}): string {
      const path = join(base, `ctr-${name}-${randomBytes(3).toString('hex')}.json`);
      writeFileSync(
        path,
        JSON.stringify({
          metadata: { name },
          image: { image: imageRef },
          log_path: `${name}.log`,
          labels: { app: name },
          annotations: { 'berth.test/note': `note of ${name}` },
          ...extra,
        }),
      );
      return path;
    }

    async function runPod(name: string): Promise<{ id: string; config: string }> {
      const config = podConfig(name);
      const ran = await cri(['runp', config]);
      assert.equal(ran.status, 0, ran.stderr);
      return { id: ran.stdout.trim(), config };
    }

    async function create(
      pod: { id: string; config: string },
      name: string,
      extra: Record<string, unknown> = {},
    ): Promise<string> {
      const created = await cri(['create', pod.id, containerConfig(name, extra), pod.config]);
      assert.equal(created.status, 0, created.stderr);
      const id = created.stdout.trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      return id;
    }

    async function inspect(id: string): Promise<Inspect> {
      const result = await cri(['inspect', id]);
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout) as Inspect;
    }

    async function waitState(id: string, state: string, ms = 15_000): Promise<Inspect> {
      const deadline = Date.now() + ms;
      for (;;) {
        const seen = await inspect(id);
        if (seen.status.state === state) return seen;
        if (Date.now() > deadline)
          assert.fail(`container ${id} is ${seen.status.state}, not ${state}, after ${ms} ms`);
        await sleep(100);
      }
    }

    function logRecords(path: string): Array<{ stream: string; tag: string; text: string }> {
      return readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const match = LOG_LINE.exec(line);
          assert.ok(match, `a CRI log line: ${JSON.stringify(line)}`);
          return { stream: match[1]!, tag: match[2]!, text: match[3]! };
        });
    }

    function cgroupsOf(id: string): string[] {
      return readdirSync('/sys/fs/cgroup')
        .map((controller) => join('/sys/fs/cgroup', controller, CGROUP_PARENT, id))
        .filter((dir) => existsSync(dir));
    }

    function records(): string[] {
      const dir = join(criDir, 'containers');
      return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
    }

    function bundles(): string[] {
      const dir = join(storeDir, 'containers');
      return existsSync(dir) ? readdirSync(dir) : [];
    }

    function assertNothingLeftOf(id: string): void {
      assert.equal(existsSync(join(criDir, 'containers', `${id}.json`)), false, 'no record');
      assert.equal(existsSync(join(criDir, 'containers', id)), false, 'no FIFO folder');
      assert.equal(existsSync(join(storeDir, 'containers', id)), false, 'no bundle');
      assert.equal(existsSync(join(stateDir, id)), false, 'no supervisor state');
      assert.deepEqual(cgroupsOf(id), [], 'no cgroup');
      assert.deepEqual(
        mountPoints().filter((p) => p.includes(id)),
        [],
        'no mount',
      );
    }

    before(async () => {
      registry = await startRegistry();
      await buildTestImage(join(base, 'pause-layout'), 'pause', {
        config: { Cmd: ['/bin/busybox', 'sleep', '2147483647'] },
      });
      sandboxImage = await pushImage(join(base, 'pause-layout'), 'pause', registry, 'pause');
      await buildTestImage(join(base, 'layout'), 'app', { config: { StopSignal: 'SIGUSR1' } });
      imageRef = await pushImage(join(base, 'layout'), 'app', registry, 'app');
      mkdirSync(confDir, { recursive: true });
      writeFileSync(
        join(confDir, '10-berthctr.conflist'),
        JSON.stringify({
          cniVersion: '1.0.0',
          name: `berthctr-${suffix}`,
          plugins: [
            {
              type: 'bridge',
              bridge: BRIDGE,
              isGateway: true,
              ipMasq: false,
              ipam: {
                type: 'host-local',
                ranges: [[{ subnet: `10.215.${THIRD_OCTET}.0/24` }]],
                dataDir: join(base, 'ipam'),
              },
            },
            { type: 'loopback' },
          ],
        }),
      );
      await startBerthd(sandboxImage);
      client = new RuntimeServiceClient(`unix://${criSocket}`, grpcCredentials.createInsecure());
      const pulled = await cri(['pull', imageRef]);
      assert.equal(pulled.status, 0, pulled.stderr);
    });

    after(async () => {
      client?.close();
      if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) {
        const listed = await cri(['ps', '-a', '-q']).catch(() => undefined);
        for (const id of listed?.stdout.split('\n').filter(Boolean) ?? [])
          await cri(['rm', '-f', id]).catch(() => undefined);
        const pods = await cri(['pods', '-q']).catch(() => undefined);
        for (const id of pods?.stdout.split('\n').filter(Boolean) ?? []) {
          await cri(['stopp', id]).catch(() => undefined);
          await cri(['rmp', id]).catch(() => undefined);
        }
      }
      await stopBerthd();
      await registry?.stop();
      try {
        run(['ip', 'link', 'del', BRIDGE]);
      } catch {
        // Never made.
      }
      for (const controller of readdirSync('/sys/fs/cgroup')) {
        try {
          rmdirSync(join('/sys/fs/cgroup', controller, CGROUP_PARENT));
        } catch {
          // Not made in this hierarchy.
        }
      }
      rmSync(base, { recursive: true, force: true });
    });

    test('create, start, ps, inspect, logs, exit Completed, rm: the CRI log format, nothing left', async () => {
      const pod = await runPod('life');
      const id = await create(pod, 'hello', {
        command: ['/bin/sh', '-c'],
        args: [
          'echo "out $GREETING $EXTRA"; echo err >&2; cat /etc/hostname; pwd; printf tail; sleep 2',
        ],
        envs: [{ key: 'EXTRA', value: 'extra' }],
        working_dir: '/opt',
      });
      const created = await inspect(id);
      assert.equal(created.status.state, 'CONTAINER_CREATED');
      assert.equal(created.status.metadata.name, 'hello');
      assert.deepEqual(created.status.labels, { app: 'hello' });
      assert.deepEqual(created.status.annotations, { 'berth.test/note': 'note of hello' });
      assert.equal(created.status.image.image, imageRef);
      assert.match(created.status.imageRef, /^sha256:[0-9a-f]{64}$/);
      assert.equal(created.status.logPath, join(logRoot, 'life', 'hello.log'));
      assert.ok(existsSync(join(storeDir, 'containers', id, 'config.json')), 'the bundle is made');

      const started = await cri(['start', id]);
      assert.equal(started.status, 0, started.stderr);
      const running = await inspect(id);
      assert.equal(running.status.state, 'CONTAINER_RUNNING');
      assert.ok(running.info.pid > 0);
      const holder = running.info.holder!.pid;
      assert.ok(pidAlive(holder), 'the FIFOs’ holder runs');
      assert.notDeepEqual(cgroupsOf(id), [], 'in the pod’s cgroup parent');
      // The pod's network namespace and hostname, its own mount namespace.
      const pausePid = (
        JSON.parse((await cri(['inspectp', pod.id])).stdout) as { info: { pid: number } }
      ).info.pid;
      for (const ns of ['net', 'ipc', 'uts', 'pid'])
        assert.equal(
          run(['readlink', `/proc/${running.info.pid}/ns/${ns}`]),
          run(['readlink', `/proc/${pausePid}/ns/${ns}`]),
          `the pod's ${ns} namespace`,
        );

      const listed = await cri(['ps', '-o', 'json']);
      const items = (
        JSON.parse(listed.stdout) as {
          containers: Array<{ id: string; state: string; podSandboxId: string }>;
        }
      ).containers;
      assert.deepEqual(
        items.map((c) => [c.id, c.state, c.podSandboxId]),
        [[id, 'CONTAINER_RUNNING', pod.id]],
      );
      assert.equal((await cri(['ps', '-a', '-q', '--label', 'app=hello'])).stdout.trim(), id);
      assert.equal((await cri(['ps', '-q', '--label', 'app=other'])).stdout.trim(), '');
      assert.equal((await cri(['ps', '-a', '-q', '--id', id.slice(0, 10)])).stdout.trim(), id);
      assert.equal((await cri(['ps', '-a', '-q', '--pod', pod.id])).stdout.trim(), id);

      const exited = await waitState(id, 'CONTAINER_EXITED');
      assert.equal(exited.status.exitCode, 0);
      assert.equal(exited.status.reason, 'Completed');
      assert.equal(pidAlive(holder), false, 'the holder is gone (and reaped) with the container');
      // crictl shows the times as RFC 3339.
      const time = (t: string) => Date.parse(t);
      assert.ok(time(exited.status.startedAt) >= time(exited.status.createdAt));
      assert.ok(time(exited.status.finishedAt) - time(exited.status.startedAt) >= 1500);
      assert.equal((await cri(['ps', '-q'])).stdout.trim(), '', 'ps without -a: running ones only');
      assert.equal((await cri(['ps', '-a', '-q', '--state', 'exited'])).stdout.trim(), id);

      const logs = await cri(['logs', id]);
      assert.equal(logs.status, 0, logs.stderr);
      assert.match(logs.stdout, /out hello extra\nlife\n\/opt\ntail/);
      assert.match(logs.stderr, /err/);
      const recordsOf = logRecords(exited.status.logPath);
      assert.deepEqual(recordsOf.map((r) => [r.stream, r.tag, r.text]).sort(), [
        ['stderr', 'F', 'err'],
        ['stdout', 'F', '/opt'],
        ['stdout', 'F', 'life'],
        ['stdout', 'F', 'out hello extra'],
        ['stdout', 'P', 'tail'],
      ]);

      const removed = await cri(['rm', id]);
      assert.equal(removed.status, 0, removed.stderr);
      assertNothingLeftOf(id);
      assert.ok(existsSync(exited.status.logPath), 'the log file stays (the kubelet owns it)');
      assert.match((await cri(['inspect', id])).stderr, /NotFound/);
      // RemoveContainer of what is gone succeeds (the CRI's idempotence).
      await call('removeContainer', { containerId: id });
      assert.equal((await cri(['stopp', pod.id])).status, 0);
      assert.equal((await cri(['rmp', pod.id])).status, 0);
    });

    test('exit codes and reasons: Error, OOMKilled; stop with the image’s stop signal, then SIGKILL', async () => {
      const pod = await runPod('exits');
      const failing = await create(pod, 'failing', { command: ['/bin/sh', '-c', 'exit 3'] });
      const oom = await create(pod, 'oom', {
        command: ['/bin/sh', '-c', 'a=aaaaaaaaaaaaaaaa; while :; do a=$a$a; done'],
        linux: { resources: { memory_limit_in_bytes: 16 * 1024 * 1024 } },
      });
      // SIGUSR1 (the image's StopSignal) is trapped: only the SIGKILL after the timeout ends it.
      const stubborn = await create(pod, 'stubborn', {
        command: ['/bin/sh', '-c', 'trap "echo got usr1" USR1; while :; do sleep 0.1; done'],
      });
      const quick = await create(pod, 'quick', {
        command: ['/bin/busybox', 'sleep', '1000'],
      });
      for (const id of [failing, oom, stubborn, quick])
        assert.equal((await cri(['start', id])).status, 0);

      const failed = await waitState(failing, 'CONTAINER_EXITED');
      assert.equal(failed.status.exitCode, 3);
      assert.equal(failed.status.reason, 'Error');

      const killed = await waitState(oom, 'CONTAINER_EXITED', 30_000);
      assert.equal(killed.status.reason, 'OOMKilled');
      assert.equal(killed.status.exitCode, 137);

      const began = Date.now();
      const stopped = await cri(['stop', '-t', '2', stubborn]);
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.ok(Date.now() - began >= 1900, 'waited for the timeout before SIGKILL');
      const stubbornExit = await inspect(stubborn);
      assert.equal(stubbornExit.status.state, 'CONTAINER_EXITED');
      assert.equal(stubbornExit.status.exitCode, 137);
      assert.match((await cri(['logs', stubborn])).stdout, /got usr1/);
      assert.equal(
        (await cri(['stop', stubborn])).status,
        0,
        'stopping a stopped container is fine',
      );

      const quickBegan = Date.now();
      assert.equal((await cri(['stop', '-t', '0', quick])).status, 0);
      assert.ok(Date.now() - quickBegan < 5_000, 'timeout 0: SIGKILL at once');
      assert.equal((await inspect(quick)).status.exitCode, 137);

      for (const id of [failing, oom, stubborn, quick]) {
        assert.equal((await cri(['rm', id])).status, 0);
        assertNothingLeftOf(id);
      }
      assert.equal((await cri(['rmp', '-f', pod.id])).status, 0);
    });

    test('UpdateContainerResources and ReopenContainerLog through gRPC; rm -f of a running one', async () => {
      const pod = await runPod('upd');
      const id = await create(pod, 'ticker', {
        command: ['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done'],
        linux: { resources: { memory_limit_in_bytes: 64 * 1024 * 1024 } },
      });
      assert.equal((await cri(['start', id])).status, 0);
      const memoryLimitOf = (container: string) =>
        readFileSync(
          join('/sys/fs/cgroup/memory', CGROUP_PARENT, container, 'memory.limit_in_bytes'),
          'utf8',
        ).trim();
      const memoryLimit = () => memoryLimitOf(id);
      assert.equal(memoryLimit(), String(64 * 1024 * 1024));
      const update = {
        memoryLimitInBytes: BigInt(96 * 1024 * 1024),
        cpuShares: 512n,
        cpuPeriod: 0n,
        cpuQuota: 0n,
        oomScoreAdj: 0n,
        cpusetCpus: '',
        cpusetMems: '',
        hugepageLimits: [],
        unified: {},
        memorySwapLimitInBytes: 0n,
      };
      await call('updateContainerResources', { containerId: id, linux: update, annotations: {} });
      assert.equal(memoryLimit(), String(96 * 1024 * 1024));
      const seen = await inspect(id);
      assert.equal(seen.status.resources?.linux?.memoryLimitInBytes, String(96 * 1024 * 1024));

      // The kubelet's rotation: rename the file away, ask for a reopen; no line is lost or split.
      const logPath = seen.status.logPath;
      await sleep(300);
      renameSync(logPath, `${logPath}.1`);
      await call('reopenContainerLog', { containerId: id });
      await sleep(300);
      assert.ok(existsSync(logPath), 'a new log file');
      const ticks = [...logRecords(`${logPath}.1`), ...logRecords(logPath)].map((r) => {
        assert.equal(r.tag, 'F');
        return Number(/^tick (\d+)$/.exec(r.text)![1]);
      });
      assert.ok(ticks.length > 5);
      assert.deepEqual(
        ticks,
        ticks.map((_, i) => i + 1),
        'every tick once, in order, across both files',
      );

      const removed = await cri(['rm', '-f', id]);
      assert.equal(removed.status, 0, removed.stderr);
      assertNothingLeftOf(id);
      await assert.rejects(call('reopenContainerLog', { containerId: id }), /NOT_FOUND/);

      // A created container starts with the resources it was updated to.
      const later = await create(pod, 'later', { command: ['/bin/busybox', 'sleep', '1000'] });
      await call('updateContainerResources', {
        containerId: later,
        linux: { ...update, memoryLimitInBytes: BigInt(48 * 1024 * 1024) },
        annotations: {},
      });
      await assert.rejects(
        call('reopenContainerLog', { containerId: later }),
        /FAILED_PRECONDITION/,
      );
      assert.equal((await cri(['start', later])).status, 0);
      assert.equal(memoryLimitOf(later), String(48 * 1024 * 1024));
      assert.equal((await cri(['rm', '-f', later])).status, 0);
      assertNothingLeftOf(later);
      assert.equal((await cri(['rmp', '-f', pod.id])).status, 0);
    });

    test('bad input: answered with a status, nothing left behind', async () => {
      const pod = await runPod('bad');
      const before = { records: records(), bundles: bundles() };
      const cases: Array<[string, Record<string, unknown>, RegExp]> = [
        ['bad name', { metadata: { name: 'Bad_Name' } }, /InvalidArgument/],
        ['no image', { image: { image: '' } }, /InvalidArgument/],
        ['absent image', { image: { image: `${registry.host}/nope:1` } }, /NotFound/],
        ['log path out of the pod dir', { log_path: '../../escape.log' }, /InvalidArgument/],
        [
          'host network in a pod with its own',
          { linux: { security_context: { namespace_options: { network: 2 } } } },
          /InvalidArgument/,
        ],
        [
          'target PID namespace without a target',
          { linux: { security_context: { namespace_options: { pid: 3 } } } },
          /InvalidArgument/,
        ],
      ];
      for (const [what, extra, expected] of cases) {
        const created = await cri(['create', pod.id, containerConfig('bad', extra), pod.config]);
        assert.notEqual(created.status, 0, what);
        assert.match(created.stderr, expected, what);
      }
      assert.deepEqual(records(), before.records, 'no record');
      assert.deepEqual(bundles(), before.bundles, 'no bundle');

      const first = await create(pod, 'twice');
      const again = await cri(['create', pod.id, containerConfig('twice'), pod.config]);
      assert.notEqual(again.status, 0);
      assert.match(again.stderr, /AlreadyExists/);

      // A start that fails (no such program): nothing of it is left, not even the record.
      const broken = await create(pod, 'broken', { command: ['/no/such/program'] });
      const started = await cri(['start', broken]);
      assert.notEqual(started.status, 0);
      assert.match(started.stderr, /no\/such\/program|no such file/i);
      assertNothingLeftOf(broken);

      const unknown = 'f'.repeat(64);
      for (const args of [
        ['inspect', unknown],
        ['start', unknown],
        ['stop', unknown],
        ['logs', unknown],
      ]) {
        const result = await cri(args);
        assert.notEqual(result.status, 0, args.join(' '));
      }
      assert.match((await cri(['inspect', unknown])).stderr, /NotFound/);
      assert.match((await cri(['start', unknown])).stderr, /NotFound/);
      await call('removeContainer', { containerId: unknown });
      await assert.rejects(
        call('createContainer', {
          podSandboxId: unknown,
          config: undefined,
          sandboxConfig: undefined,
        }),
        /NOT_FOUND/,
      );
      const startedTwice = await cri(['start', first]);
      assert.equal(startedTwice.status, 0, startedTwice.stderr);
      const startedAgain = await cri(['start', first]);
      assert.match(startedAgain.stderr, /FailedPrecondition/);

      // A pod no longer ready takes no new container.
      assert.equal((await cri(['stopp', pod.id])).status, 0);
      const late = await cri(['create', pod.id, containerConfig('late'), pod.config]);
      assert.match(late.stderr, /FailedPrecondition/);
      assert.equal((await inspect(first)).status.state, 'CONTAINER_EXITED', 'stopp killed it');
      assert.equal((await cri(['rm', first])).status, 0);
      assertNothingLeftOf(first);
      assert.equal((await cri(['rmp', pod.id])).status, 0);
    });

    test('attach: the client’s input to stdin, the output back; stdin_once ends the input; rmp removes the pod’s containers', async () => {
      const pod = await runPod('attach');
      const id = await create(pod, 'cat', {
        command: ['/bin/cat'],
        stdin: true,
        stdin_once: true,
      });
      assert.equal((await cri(['start', id])).status, 0);
      const attached = await crictl(binary!, criSocket, ['attach', '-i', id], 'hello attach\n');
      assert.equal(attached.status, 0, attached.stderr);
      assert.match(attached.stdout, /hello attach/);
      const exited = await waitState(id, 'CONTAINER_EXITED');
      assert.equal(exited.status.exitCode, 0, 'cat ended at the end of its input');
      assert.match((await cri(['logs', id])).stdout, /hello attach/);
      const notRunning = await cri(['attach', id]);
      assert.notEqual(notRunning.status, 0, 'no attach to an exited container');

      const other = await create(pod, 'other');
      assert.equal((await cri(['rmp', '-f', pod.id])).status, 0);
      for (const gone of [id, other]) assertNothingLeftOf(gone);
    });

    test('exec (streaming and ExecSync) and stats on a CRI container, through crictl', async () => {
      const pod = await runPod('exec');
      const id = await create(pod, 'sleeper', {
        command: ['/bin/sh', '-c'],
        args: ['echo ready; exec sleep 1000'],
        // A cwd every root has: where runc runs inside a chroot, an exec lands in the host's root (a runc limit).
        working_dir: '/',
      });
      assert.equal((await cri(['start', id])).status, 0);
      await waitState(id, 'CONTAINER_RUNNING');
      // A unique prefix is enough, as for every container RPC.
      const streamed = await cri([
        'exec',
        id.slice(0, 12),
        '/bin/sh',
        '-c',
        'echo out; echo err >&2',
      ]);
      assert.equal(streamed.status, 0, streamed.stderr);
      assert.equal(streamed.stdout, 'out\n');
      assert.match(streamed.stderr, /err/);
      // crictl 1.26 says a non-zero ExecSync exit code in its error (and exits 1).
      const failed = await cri(['exec', '-s', id, '/bin/sh', '-c', 'echo sync >&2; exit 3']);
      assert.equal(failed.status, 1);
      assert.match(failed.stderr, /exited with 3: sync/);
      const hostname = await cri(['exec', '-s', id, 'cat', '/proc/sys/kernel/hostname']);
      assert.equal(hostname.stdout.trim(), 'exec', 'the exec is in the pod’s UTS namespace');
      const stats = await cri(['stats', '-o', 'json', id]);
      assert.equal(stats.status, 0, stats.stderr);
      const parsed = JSON.parse(stats.stdout) as {
        stats: Array<{
          attributes: { id: string };
          memory: { workingSetBytes: { value: string } };
        }>;
      };
      assert.equal(parsed.stats.length, 1);
      assert.equal(parsed.stats[0]!.attributes.id, id);
      assert.ok(Number(parsed.stats[0]!.memory.workingSetBytes.value) > 0, 'a working set');
      assert.equal((await cri(['rmp', '-f', pod.id])).status, 0);
      assertNothingLeftOf(id);
    });

    test('berthd killed with SIGKILL: restarted, it has every container, the output written while down, the exit while down', async () => {
      const pod = await runPod('restart');
      const ticker = await create(pod, 'ticker', {
        command: ['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done'],
      });
      const shortLived = await create(pod, 'short', {
        command: ['/bin/sh', '-c', 'echo before; sleep 2; echo after; exit 7'],
      });
      const idle = await create(pod, 'idle');
      for (const id of [ticker, shortLived]) assert.equal((await cri(['start', id])).status, 0);
      const holder = (await inspect(ticker)).info.holder!.pid;
      await sleep(300);
      await stopBerthd('SIGKILL');
      // While berthd is down: the ticker writes on, the short one exits.
      await sleep(2_500);
      assert.ok(pidAlive(holder), 'the holder kept the FIFOs open');
      await startBerthd(sandboxImage);

      assert.equal((await inspect(idle)).status.state, 'CONTAINER_CREATED');
      const short = await waitState(shortLived, 'CONTAINER_EXITED');
      assert.equal(short.status.exitCode, 7);
      assert.equal(short.status.reason, 'Error');
      const shortLogs = await cri(['logs', shortLived]);
      assert.equal(shortLogs.stdout, 'before\nafter\n', 'its output while berthd was down is kept');
      assert.equal((await inspect(ticker)).status.state, 'CONTAINER_RUNNING');
      await sleep(300);
      assert.equal((await cri(['stop', '-t', '0', ticker])).status, 0);
      const seen = await inspect(ticker);
      assert.equal(seen.status.state, 'CONTAINER_EXITED');
      assert.equal(pidAlive(holder), false, 'the holder went with the container');
      const ticks = logRecords(seen.status.logPath)
        .filter((r) => r.tag === 'F')
        .map((r) => Number(/^tick (\d+)$/.exec(r.text)![1]));
      assert.ok(
        ticks.length > 40,
        `ticks from before, while and after berthd was down (${ticks.length})`,
      );
      assert.deepEqual(
        ticks,
        ticks.map((_, i) => i + 1),
        'no tick lost',
      );
      for (const id of [ticker, shortLived, idle]) {
        assert.equal((await cri(['rm', id])).status, 0);
        assertNothingLeftOf(id);
      }
      assert.equal((await cri(['rmp', '-f', pod.id])).status, 0);
    });
  },
);
