/**
 * The berth CLI against a real berthd on real runc: every command, its table
 * and its JSON, exit statuses passed through, attach with stdin piped and
 * under a pseudo-terminal, and the errors (unknown ids, a bad address, bad
 * flags) with their exit statuses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureRootfs, writeBundle, type BundleOptions } from '../../support/busybox.js';
import { uniqueId } from '../helpers/env.js';
import {
  CLI,
  NO_BERTHD,
  berth,
  berthdAvailable,
  exited,
  outputUntil,
  spawnBerth,
  startBerthd,
  underTerminal,
  type Daemon,
} from '../helpers/cli.js';

/** One line on stderr, `berth: <what> (<code>)`. */
function assertOneLineError(stderr: string, code: string | RegExp): void {
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got ${JSON.stringify(stderr)}`);
  assert.match(lines[0]!, /^berth: .+ \([A-Z_]+\)$/);
  const shown = /\(([A-Z_]+)\)$/.exec(lines[0]!)![1]!;
  if (typeof code === 'string') assert.equal(shown, code, lines[0]);
  else assert.match(shown, code, lines[0]);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
}

function rows(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('berth against berthd', { skip: berthdAvailable() ? false : NO_BERTHD }, () => {
  let daemon: Daemon;
  let bundles = 0;
  const bundle = (opts: BundleOptions) =>
    writeBundle(join(daemon.base, `bundle-${++bundles}`), opts);
  /** A detached container running `sleep`, started with the CLI. */
  const sleeper = async (seconds = 300): Promise<string> => {
    const id = uniqueId('c');
    const res = await daemon.berth([
      'containers',
      'start',
      id,
      bundle({ args: ['sleep', String(seconds)] }),
    ]);
    assert.equal(res.status, 0, res.stderr);
    return id;
  };

  before(async () => {
    ensureRootfs();
    daemon = await startBerthd();
  });
  after(async () => {
    await daemon?.stop();
  });

  test('version: client and server, as text and JSON', async () => {
    const text = await daemon.berth(['version']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(
      text.stdout,
      /^client: berth \d+\.\d+\.\d+\nserver: berthd \d+\.\d+\.\d+ commit: .*\n$/,
    );
    const json = await daemon.berth(['version', '--json']);
    const doc = JSON.parse(json.stdout) as {
      client: { version: string };
      server: { major: number };
    };
    assert.match(doc.client.version, /^\d+\.\d+\.\d+/);
    assert.equal(typeof doc.server.major, 'number');
  });

  test('containers start (detached), list, state: tables and JSON', async () => {
    const b = bundle({ args: ['sleep', '300'] });
    const id = uniqueId('c');
    const start = await daemon.berth(['containers', 'start', '-l', 'team=a', id, b]);
    assert.equal(start.status, 0, start.stderr);
    assert.equal(start.stdout, '');

    const list = await daemon.berth(['containers', 'list']);
    assert.equal(list.status, 0, list.stderr);
    const table = rows(list.stdout);
    assert.deepEqual(table[0], ['ID', 'STATUS', 'PROCESSES', 'PIDS', 'BUNDLE', 'AGE']);
    const row = table.find((r) => r[0] === id);
    assert.ok(row, list.stdout);
    assert.deepEqual(row.slice(0, 5), [id, 'running', 'init', '1', b]);
    assert.match(row[5]!, /^\d+[smhd]$/);
    // `containers` alone lists too, as ctr's does.
    const bare = await daemon.berth(['containers']);
    assert.deepEqual(
      rows(bare.stdout).map((r) => r.slice(0, 5)),
      table.map((r) => r.slice(0, 5)),
    );

    const json = await daemon.berth(['containers', 'ls', '--json']);
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    const mine = listed.find((c) => c.id === id)!;
    assert.equal(mine.status, 'running');
    assert.equal(mine.bundlePath, b);
    assert.deepEqual(mine.labels, ['team=a']);
    assert.equal((mine.pids as number[]).length, 1);
    assert.match(mine.startedAt as string, /^\d{4}-\d\d-\d\dT/);

    const quiet = await daemon.berth(['containers', 'list', '-q']);
    assert.ok(quiet.stdout.split('\n').includes(id));

    const state = await daemon.berth(['containers', 'state', id]);
    assert.equal(state.status, 0, state.stderr);
    assert.match(state.stdout, new RegExp(`^ID:\\s+${id}$`, 'm'));
    assert.match(state.stdout, /^Status:\s+running$/m);
    assert.match(state.stdout, /^init\s+\d+\s+no\s+0:0\s+\/\s+sleep 300$/m);
    const stateJson = JSON.parse(
      (await daemon.berth(['containers', 'state', id, '--json'])).stdout,
    ) as {
      id: string;
      processes: Array<{ pid: string; args: string[] }>;
    };
    assert.equal(stateJson.id, id);
    assert.deepEqual(stateJson.processes[0]!.args, ['sleep', '300']);

    const all = await daemon.berth(['state']);
    assert.match(all.stdout, /^Machine: \d+ CPUs, .+ memory$/m);
    assert.match(all.stdout, new RegExp(`^${id}\\s+running`, 'm'));
    const allJson = JSON.parse((await daemon.berth(['--json', 'state'])).stdout) as {
      containers: Array<{ id: string }>;
      machine: { cpus: number; memory: number };
    };
    assert.ok(allJson.containers.some((c) => c.id === id));
    assert.ok(allJson.machine.cpus > 0 && allJson.machine.memory > 0);

    const killed = await daemon.berth(['containers', 'kill', '-s', 'KILL', '--wait', id]);
    assert.equal(killed.status, 0, killed.stderr);
    assert.match(killed.stdout, new RegExp(`^${id}\\s+137$`, 'm'));
  });

  test('start -a: stdin piped in, stdout and stderr apart, the exit status passed through', async () => {
    const b = bundle({
      args: ['sh', '-c', 'echo out; echo err >&2; read line; echo "got $line"; exit 7'],
    });
    const res = await daemon.berth(['containers', 'start', '-a', uniqueId('c'), b], {
      input: 'hello\n',
    });
    assert.equal(res.status, 7, res.stderr);
    assert.equal(res.stdout, 'out\ngot hello\n');
    assert.equal(res.stderr, 'err\n');
  });

  test('start -a: a killed container gives 128+N', async () => {
    const b = bundle({ args: ['sh', '-c', 'echo ready; exec sleep 300'] });
    const id = uniqueId('c');
    const child = spawnBerth(['containers', 'start', '-a', id, b], daemon.env);
    await outputUntil(child, /ready/);
    const kill = await daemon.berth(['containers', 'kill', '-s', '9', id]);
    assert.equal(kill.status, 0, kill.stderr);
    assert.deepEqual(await exited(child), { status: 137, signal: null });
  });

  test('start -a: Ctrl-C is forwarded as SIGINT', async () => {
    const b = bundle({
      args: ['sh', '-c', 'trap "exit 42" INT; echo ready; while :; do sleep 0.1; done'],
    });
    const child = spawnBerth(['containers', 'start', '-a', uniqueId('c'), b], daemon.env);
    await outputUntil(child, /ready/);
    child.kill('SIGINT');
    assert.deepEqual(await exited(child), { status: 42, signal: null });
  });

  test('kill --wait: progress on a terminal, --timeout, Ctrl-C stops waiting (130)', async () => {
    const id = await sleeper();
    const cli = `${process.execPath} ${CLI} --address ${daemon.address}`;
    // PID 1 ignores SIGTERM without a handler: nothing exits.
    const timedOut = await underTerminal(
      `${cli} containers kill -s TERM --wait --timeout 1500ms ${id}`,
    );
    assert.equal(timedOut.status, 1, timedOut.stdout);
    assert.match(timedOut.stdout, /waiting for 1 to exit/);
    assert.match(
      timedOut.stdout,
      new RegExp(`berth: still running after the timeout: ${id} \\(ERR_TIMEOUT\\)`),
    );

    const waiting = spawnBerth(['containers', 'kill', '-s', 'TERM', '--wait', id], daemon.env);
    await sleep(1000);
    waiting.kill('SIGINT');
    assert.deepEqual(await exited(waiting), { status: 130, signal: null });
    assert.match(
      (await daemon.berth(['containers', 'list'])).stdout,
      new RegExp(`^${id}\\s+running`, 'm'),
    );
  });

  test('exec -a: stdin piped, status passed through; detached exec; kill -p', async () => {
    const id = await sleeper();
    const res = await daemon.berth(
      ['containers', 'exec', '--id', id, '--pid', 'e1', '-a', '--', 'sh', '-c', 'cat; exit 3'],
      {
        input: 'through the exec\n',
      },
    );
    assert.equal(res.status, 3, res.stderr);
    assert.equal(res.stdout, 'through the exec\n');

    // Without -- too: options stop at the command.
    const env = await daemon.berth([
      'containers',
      'exec',
      '--id',
      id,
      '-a',
      '-e',
      'GREETING=hi',
      '--cwd',
      '/tmp',
      'sh',
      '-c',
      'echo $GREETING $(pwd)',
    ]);
    assert.equal(env.status, 0, env.stderr);
    assert.equal(env.stdout, 'hi /tmp\n');

    const detached = await daemon.berth([
      'containers',
      'exec',
      '--id',
      id,
      '--pid',
      'bg',
      '--json',
      '--',
      'sleep',
      '300',
    ]);
    assert.equal(detached.status, 0, detached.stderr);
    assert.ok((JSON.parse(detached.stdout) as { systemPid: number }).systemPid > 0);
    const state = await daemon.berth(['containers', 'state', id]);
    assert.match(state.stdout, /^bg\s+\d+/m);
    const kill = await daemon.berth(['containers', 'kill', '-p', 'bg', '-s', 'kill', id]);
    assert.equal(kill.status, 0, kill.stderr);
    const events = await daemon.berth(['events', '--stored-only', '--id', id, '--json']);
    const exits = events.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; pid: string; status: number });
    await sleep(0);
    assert.ok(
      exits.some((e) => e.type === 'exit' && e.pid === 'e1' && e.status === 3),
      events.stdout,
    );
  });

  test('exec -a -t under a pseudo-terminal: a tty, its size, raw input, the status', async () => {
    const id = await sleeper();
    const res = await underTerminal(
      `${process.execPath} ${CLI} --address ${daemon.address} containers exec --id ${id} --pid tty1 -a -t -- sh -c 'tty; echo ready; read line; stty size; echo "got $line"; exit 4'`,
      { input: 'typed\r', ready: /ready/, cols: 90, rows: 30 },
    );
    assert.equal(res.status, 4, res.stdout);
    assert.match(res.stdout, /\/dev\/pts\/\d+/);
    assert.match(res.stdout, /30 90/);
    assert.match(res.stdout, /got typed/);
  });

  test('exec -a -t: a window-size change here (SIGWINCH) reaches the process through berthd', async () => {
    const id = await sleeper();
    const res = await underTerminal(
      `(sleep 1.5; stty cols 50 rows 20 </dev/tty) & ${process.execPath} ${CLI} --address ${daemon.address} containers exec --id ${id} -a -t -- sh -c 'echo ready; read line; stty size; exit 0'`,
      { input: 'go\r', ready: /ready/, typeAfterMs: 2500, cols: 100, rows: 40 },
    );
    assert.equal(res.status, 0, res.stdout);
    assert.match(res.stdout, /20 50/);
  });

  test('kill: signal names and numbers, several ids, --wait with the statuses', async () => {
    const a = await sleeper();
    const b = await sleeper();
    const bad = await daemon.berth(['containers', 'kill', '-s', 'NOSUCH', a]);
    assert.equal(bad.status, 2);
    assertOneLineError(bad.stderr, 'ERR_USAGE');
    const res = await daemon.berth([
      'containers',
      'kill',
      '-s',
      'SIGKILL',
      '--wait',
      '--json',
      a,
      b,
    ]);
    assert.equal(res.status, 0, res.stderr);
    const statuses = JSON.parse(res.stdout) as Array<{ id: string; status: number }>;
    assert.deepEqual(
      statuses.map((s) => [s.id, s.status]).sort(),
      [
        [a, 137],
        [b, 137],
      ].sort(),
    );
    const list = await daemon.berth(['containers', 'list', '-q']);
    assert.ok(!list.stdout.includes(a) && !list.stdout.includes(b));

    // --all: whatever runs; with nothing left, nothing to wait for.
    await sleeper();
    const all = await daemon.berth(['containers', 'kill', '--all', '-s', 'KILL', '--wait']);
    assert.equal(all.status, 0, all.stderr);
    assert.equal((await daemon.berth(['containers', 'list', '-q'])).stdout, '');
    const none = await daemon.berth(['containers', 'kill', '--all', '--wait']);
    assert.equal(none.status, 0, none.stderr);
    const both = await daemon.berth(['containers', 'kill', '--all', a]);
    assert.equal(both.status, 2);
    assertOneLineError(both.stderr, 'ERR_USAGE');
  });

  test('pause and resume: the status follows, events are journaled', async () => {
    const id = await sleeper();
    assert.equal((await daemon.berth(['containers', 'pause', id])).status, 0);
    assert.match(
      (await daemon.berth(['containers', 'list'])).stdout,
      new RegExp(`^${id}\\s+paused`, 'm'),
    );
    assert.equal((await daemon.berth(['containers', 'resume', id])).status, 0);
    assert.match(
      (await daemon.berth(['containers', 'list'])).stdout,
      new RegExp(`^${id}\\s+running`, 'm'),
    );
    const events = await daemon.berth(['events', '--stored-only', '--id', id]);
    assert.equal(events.status, 0, events.stderr);
    const lines = rows(events.stdout);
    assert.deepEqual(lines[0], ['TIME', 'TYPE', 'ID', 'PID', 'STATUS']);
    assert.deepEqual(
      lines.slice(1).map((r) => r[1]),
      ['start-container', 'pause', 'resume'],
    );
    for (const r of lines.slice(1)) assert.match(r[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  test('update: every flag reaches berthd; stats shows the new limit', async () => {
    const id = await sleeper();
    const none = await daemon.berth(['containers', 'update', id]);
    assert.equal(none.status, 2);
    assertOneLineError(none.stderr, 'ERR_USAGE');
    const res = await daemon.berth([
      'containers',
      'update',
      '--memory-limit',
      '64m',
      '--memory-swap',
      '-1',
      '--cpu-shares',
      '512',
      '--cpu-quota',
      '50000',
      '--cpu-period',
      '100000',
      id,
    ]);
    assert.equal(res.status, 0, res.stderr);
    const stats = await daemon.berth(['containers', 'stats', '--no-stream', '--json', id]);
    assert.equal(stats.status, 0, stats.stderr);
    const [sample] = JSON.parse(stats.stdout) as Array<{
      id: string;
      stats: { cgroupStats: { memoryStats: { usage: { limit: number } } } };
    }>;
    assert.equal(sample!.id, id);
    assert.equal(sample!.stats.cgroupStats.memoryStats.usage.limit, 64 * 1024 * 1024);
    const table = await daemon.berth(['containers', 'stats', '--no-stream', id]);
    const [header, row] = rows(table.stdout);
    assert.deepEqual(header, [
      'CONTAINER',
      'CPU %',
      'MEM USAGE / LIMIT',
      'MEM %',
      'PIDS',
      'BLOCK I/O',
      'NET I/O',
    ]);
    assert.equal(row![0], id);
    assert.match(row![2]!, / \/ 64\.0MiB$/);
    assert.equal(row![4], '1');
  });

  test('stats, piped: plain lines per sample (header once), JSON lines with --json; ends with its container', async () => {
    const id = await sleeper(3);
    const res = await daemon.berth(['containers', 'stats', '--interval', '300ms', id], {
      timeoutMs: 20_000,
    });
    assert.equal(res.status, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.match(lines[0]!, /^CONTAINER\s+CPU %/);
    assert.equal(
      lines.filter((l) => l.startsWith('CONTAINER')).length,
      1,
      'header once when piped',
    );
    assert.ok(lines.length >= 3, res.stdout);
    for (const line of lines.slice(1)) assert.match(line, new RegExp(`^${id}\\s`));

    const id2 = await sleeper(2);
    const json = await daemon.berth(['containers', 'stats', '--json', '--interval', '300ms', id2], {
      timeoutMs: 20_000,
    });
    const samples = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; stats: { timestamp: string } });
    assert.ok(samples.length >= 2);
    for (const s of samples) {
      assert.equal(s.id, id2);
      assert.match(s.stats.timestamp, /Z$/);
    }
  });

  test('stats and watch on a terminal: redrawn in place, ended by their container', async () => {
    const cli = `${process.execPath} ${CLI} --address ${daemon.address}`;
    const id = await sleeper(3);
    const stats = await underTerminal(`${cli} containers stats --interval 300ms ${id}`);
    assert.equal(stats.status, 0, stats.stdout);
    const count = (text: string, what: string) => text.split(what).length - 1;
    assert.equal(count(stats.stdout, '\x1b[2J'), 1, 'the screen is cleared once');
    assert.ok(count(stats.stdout, '\x1b[H') >= 3, 'then redrawn from the top');
    assert.match(stats.stdout, new RegExp(`${id}\\s+\\d+\\.\\d\\d%`));

    const id2 = await sleeper(2);
    const watch = await underTerminal(`${cli} containers watch ${id2}`);
    assert.equal(watch.status, 0, watch.stdout);
    assert.ok(watch.stdout.includes('\x1b[H'));
    assert.match(watch.stdout, /ID\s+STATUS\s+PROCESSES\s+PIDS\s+BUNDLE\s+AGE/);
    assert.match(watch.stdout, new RegExp(`${id2}\\s+running`));
    assert.match(watch.stdout, new RegExp(`exit\\s+${id2}\\s+init\\s+0`));
  });

  test('watch ID, piped: event lines until its container exits; --json lines', async () => {
    const id = await sleeper();
    const child = spawnBerth(['containers', 'watch', id], daemon.env);
    await outputUntil(child, /TIME\s+TYPE/);
    await sleep(200);
    assert.equal((await daemon.berth(['containers', 'pause', id])).status, 0);
    assert.equal((await daemon.berth(['containers', 'resume', id])).status, 0);
    assert.equal((await daemon.berth(['containers', 'kill', '-s', 'KILL', id])).status, 0);
    const out = await outputUntil(child, /exit/);
    assert.deepEqual(await exited(child), { status: 0, signal: null });
    assert.match(out, new RegExp(`pause\\s+${id}`));
    assert.match(out, new RegExp(`resume\\s+${id}`));
    assert.match(out, new RegExp(`exit\\s+${id}\\s+init\\s+137`));

    const id2 = await sleeper();
    const json = spawnBerth(['containers', 'watch', '--json', id2], daemon.env);
    await sleep(500);
    await daemon.berth(['containers', 'kill', '-s', 'KILL', id2]);
    const text = await outputUntil(json, /"exit"/);
    assert.deepEqual(await exited(json), { status: 0, signal: null });
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id: string; status: number });
    assert.deepEqual(events.at(-1), { ...events.at(-1), type: 'exit', id: id2, status: 137 });

    const unknown = await daemon.berth(['containers', 'watch', 'no-such-container']);
    assert.equal(unknown.status, 1);
    assertOneLineError(unknown.stderr, 'NOT_FOUND');
  });

  test('events: live lines as they happen, -t replays, --stored-only ends, --json lines', async () => {
    const child = spawnBerth(['events'], daemon.env);
    await outputUntil(child, /TIME/);
    await sleep(200);
    const id = await sleeper();
    const line = await outputUntil(child, new RegExp(`start-container\\s+${id}`));
    assert.match(line, new RegExp(`\\d{9}Z\\s+start-container\\s+${id}\\s+init\\s+0`));
    child.kill('SIGINT');
    await exited(child);

    const replay = await daemon.berth([
      'events',
      '-t',
      '5m',
      '--stored-only',
      '--json',
      '--id',
      id,
    ]);
    assert.equal(replay.status, 0, replay.stderr);
    const events = replay.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id: string; timestamp: string });
    assert.deepEqual(
      events.map((e) => [e.type, e.id]),
      [['start-container', id]],
    );
    const later = await daemon.berth([
      'events',
      '--stored-only',
      '-t',
      events[0]!.timestamp,
      '--id',
      id,
    ]);
    assert.equal(
      later.stdout.trim().split('\n').length,
      1,
      'only the header: nothing after that event',
    );
    const bad = await daemon.berth(['events', '-t', 'yesterday-ish']);
    assert.equal(bad.status, 2);
    assertOneLineError(bad.stderr, 'ERR_USAGE');
  });

  test("checkpoints: list (table, JSON); create and delete report berthd's answer in one line", async () => {
    const id = await sleeper();
    const list = await daemon.berth(['checkpoints', 'list', id]);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(rows(list.stdout), [
      ['NAME', 'TCP', 'UNIX SOCKETS', 'SHELL', 'EXIT', 'EMPTY NS'],
    ]);
    assert.deepEqual(JSON.parse((await daemon.berth(['checkpoints', id, '--json'])).stdout), []);
    const create = await daemon.berth(['checkpoints', 'create', '--tcp', id, 'cp1'], {
      timeoutMs: 120_000,
    });
    if (create.status === 0) {
      const listed = JSON.parse(
        (await daemon.berth(['checkpoints', 'list', '--json', id])).stdout,
      ) as Array<{
        name: string;
        tcp: boolean;
      }>;
      assert.deepEqual(
        listed.map((c) => [c.name, c.tcp]),
        [['cp1', true]],
      );
      assert.equal((await daemon.berth(['checkpoints', 'delete', id, 'cp1'])).status, 0);
    } else {
      // CRIU cannot dump on these kernels: the runtime's refusal, in one line.
      assert.equal(create.status, 1);
      assertOneLineError(create.stderr, /^[A-Z_]+$/);
    }
    const missing = await daemon.berth(['checkpoints', 'delete', id, 'never-made']);
    assert.equal(missing.status, 1);
    assertOneLineError(missing.stderr, /^[A-Z_]+$/);
  });

  test('run through berthd: attached with stdin, status passed through, --rm removes the generated bundle', async () => {
    const cliState = join(daemon.base, 'cli-state');
    const id = uniqueId('r');
    const res = await daemon.berth(
      [
        'run',
        '--rm',
        '--name',
        id,
        '--state-dir',
        cliState,
        '--rootfs',
        ensureRootfs(),
        '--',
        'sh',
        '-c',
        'cat; hostname; exit 7',
      ],
      { input: 'piped\n' },
    );
    assert.equal(res.status, 7, res.stderr);
    assert.equal(res.stdout, `piped\n${id}\n`);
    assert.equal(res.stderr, '', 'no daemonless notice with berthd there');
    assert.deepEqual(readdirSync(join(cliState, '.bundles')), []);

    const detached = uniqueId('d');
    const d = await daemon.berth([
      'run',
      '-d',
      '--name',
      detached,
      '--state-dir',
      cliState,
      '--rootfs',
      ensureRootfs(),
      '--',
      'sleep',
      '300',
    ]);
    assert.equal(d.status, 0, d.stderr);
    assert.equal(d.stdout, `${detached}\n`);
    assert.match(
      (await daemon.berth(['containers', 'list'])).stdout,
      new RegExp(`^${detached}\\s+running`, 'm'),
    );
    assert.ok(existsSync(join(cliState, '.bundles', detached, 'config.json')));
    const both = await daemon.berth(['run', '-d', '--rm', '--rootfs', ensureRootfs(), 'true']);
    assert.equal(both.status, 2);
    assertOneLineError(both.stderr, 'ERR_USAGE');
  });

  test('run -t through berthd under a pseudo-terminal', async () => {
    const res = await underTerminal(
      `${process.execPath} ${CLI} --address ${daemon.address} run -t --rm --state-dir ${join(daemon.base, 'cli-state')} --rootfs ${ensureRootfs()} -- sh -c 'tty; stty size; exit 5'`,
      { cols: 120, rows: 33 },
    );
    assert.equal(res.status, 5, res.stdout);
    assert.match(res.stdout, /\/dev\/pts\/\d+/);
    assert.match(res.stdout, /33 120/);
  });

  // Unknown ids: one line, the gRPC status, exit status 1.
  for (const args of [
    ['containers', 'state', 'nope'],
    ['containers', 'kill', 'nope'],
    ['containers', 'pause', 'nope'],
    ['containers', 'resume', 'nope'],
    ['containers', 'update', '--cpu-shares', '10', 'nope'],
    ['containers', 'stats', '--no-stream', 'nope'],
    ['containers', 'exec', '--id', 'nope', '-a', '--', 'true'],
    ['containers', 'exec', '--id', 'nope', '--', 'true'],
    ['checkpoints', 'list', 'nope'],
  ])
    test(`unknown id: berth ${args.join(' ')}: one line, NOT_FOUND, exit status 1`, async () => {
      const res = await daemon.berth(args);
      assert.equal(res.status, 1, `${args.join(' ')}: ${res.stderr}`);
      assertOneLineError(res.stderr, 'NOT_FOUND');
      assert.equal(res.stdout, '');
    });

  test('an id in use, a bundle that is not there: one line, the gRPC status, exit status 1', async () => {
    const exists = await sleeper();
    const again = await daemon.berth(['containers', 'start', exists, bundle({})]);
    assert.equal(again.status, 1);
    assertOneLineError(again.stderr, 'ALREADY_EXISTS');
    const noBundle = await daemon.berth([
      'containers',
      'start',
      uniqueId('c'),
      join(daemon.base, 'nowhere'),
    ]);
    assert.equal(noBundle.status, 1);
    assertOneLineError(noBundle.stderr, 'INVALID_ARGUMENT');
  });

  test('a bad address: nothing there is exit 1 (UNAVAILABLE); not a unix address is a usage error', async () => {
    const nothing = await berth([
      '--address',
      `unix://${daemon.base}/none.sock`,
      'containers',
      'list',
    ]);
    assert.equal(nothing.status, 1);
    assertOneLineError(nothing.stderr, 'UNAVAILABLE');
    assert.match(nothing.stderr, /cannot reach berthd at unix:\/\/.*none\.sock/);
    const env = await berth(['version'], {
      env: { BERTH_ADDRESS: `unix://${daemon.base}/none.sock` },
    });
    assert.equal(env.status, 1);
    assertOneLineError(env.stderr, 'UNAVAILABLE');
    const tcp = await berth(['containers', 'list', '--address', 'tcp://127.0.0.1:1']);
    assert.equal(tcp.status, 2);
    assertOneLineError(tcp.stderr, 'ERR_USAGE');
    // The flag wins over the environment, after the command as before it.
    const flag = await berth(['containers', 'list', '--address', daemon.address], {
      env: { BERTH_ADDRESS: 'unix:///nonexistent.sock' },
    });
    assert.equal(flag.status, 0, flag.stderr);
    // --debug adds the stack.
    const debug = await berth([
      '--debug',
      '--address',
      `unix://${daemon.base}/none.sock`,
      'version',
    ]);
    assert.equal(debug.status, 1);
    assert.match(debug.stderr, /\(UNAVAILABLE\)\n/);
    assert.match(debug.stderr, /\n\s+at /);
  });

  // Bad flags and arguments: exit 2, one line naming the command to ask for help.
  for (const [args, hint] of [
    [['containers', 'list', '--bogus'], 'berth containers list'],
    [['containers', 'start', 'only-an-id'], 'berth containers start'],
    [['containers', 'frobnicate'], 'berth containers'],
    [['containers', 'exec', '-a', '--', 'true'], 'berth containers exec'],
    [['checkpoints', 'create', 'x'], 'berth checkpoints create'],
    [['events', '--id'], 'berth events'],
    [['nosuchcommand'], 'berth'],
  ] as const)
    test(`bad command line: berth ${args.join(' ')}: exit 2, one line naming '${hint} --help'`, async () => {
      const res = await daemon.berth([...args]);
      assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
      assertOneLineError(res.stderr, 'ERR_USAGE');
      assert.ok(res.stderr.includes(`see '${hint} --help'`), res.stderr);
    });
});
