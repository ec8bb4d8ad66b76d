/**
 * `berth run` and `berth spec` without a daemon: the library in the CLI's
 * own process, on real runc. Nothing listens at the address these tests
 * give, so every run is daemonless; each leaves nothing behind.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRootfs, tempDir, writeBundle } from '../../support/busybox.js';
import { processesUnder } from '../../support/processes.js';
import { runtimeIds, uniqueId } from '../helpers/env.js';
import {
  CLI,
  berth,
  exited,
  outputUntil,
  spawnBerth,
  underTerminal,
  type RunOptions,
} from '../helpers/cli.js';

const base = tempDir('berth-cli-run-');
const stateDir = join(base, 'state');
const tmp = join(base, 'tmp');
mkdirSync(tmp);
const address = `unix://${base}/nobody-listens.sock`;
const rootfs = ensureRootfs();
const env = { BERTH_ADDRESS: address, TMPDIR: tmp };

/** `berth run --state-dir <ours> ARGS...` with nobody listening at the address. */
function run(args: string[], options: RunOptions = {}) {
  return berth(['run', '--state-dir', stateDir, ...args], {
    ...options,
    env: { ...env, ...options.env },
  });
}

function assertNoContainers(): void {
  const left = existsSync(stateDir) ? readdirSync(stateDir).filter((n) => !n.startsWith('.')) : [];
  assert.deepEqual(left, [], 'container folders left in the CLI state dir');
  assert.deepEqual(runtimeIds(stateDir), [], 'runtime state left');
  assert.deepEqual(processesUnder(base), [], 'processes left');
}

after(() => {
  try {
    assertNoContainers();
    assert.deepEqual(readdirSync(tmp), []);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('daemonless run: output, the exit status passed through, said once on stderr, nothing left', async () => {
  const id = uniqueId('r');
  const res = await run([
    '--rootfs',
    rootfs,
    '--rm',
    '--name',
    id,
    '--',
    'sh',
    '-c',
    'echo out; echo err >&2; hostname; exit 7',
  ]);
  assert.equal(res.status, 7, res.stderr);
  assert.equal(res.stdout, `out\n${id}\n`);
  const notices = res.stderr.split('\n').filter((l) => l.startsWith('berth:'));
  assert.equal(notices.length, 1, res.stderr);
  assert.match(
    notices[0]!,
    /no berthd at unix:\/\/.*nobody-listens\.sock: running .* in this process \(daemonless\)/,
  );
  assert.match(res.stderr, /^err$/m);
  assertNoContainers();
  assert.ok(!existsSync(join(stateDir, '.bundles', id)), '--rm removes the generated bundle');
});

test('daemonless run: stdin piped through; a command without --; the bundle kept without --rm', async () => {
  const id = uniqueId('r');
  const res = await run(
    ['--rootfs', rootfs, '--name', id, 'sh', '-c', 'wc -l; cat /etc/hostname 2>/dev/null; exit 0'],
    {
      input: 'one\ntwo\nthree\n',
    },
  );
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^\s*3\n/);
  const config = JSON.parse(
    readFileSync(join(stateDir, '.bundles', id, 'config.json'), 'utf8'),
  ) as {
    process: { args: string[]; terminal: boolean };
    root: { path: string };
    hostname: string;
    linux: { namespaces: Array<{ type: string }> };
    mounts: Array<{ destination: string }>;
  };
  assert.deepEqual(config.process.args, [
    'sh',
    '-c',
    'wc -l; cat /etc/hostname 2>/dev/null; exit 0',
  ]);
  assert.equal(config.process.terminal, false);
  assert.equal(config.root.path, rootfs);
  assert.equal(config.hostname, id);
  assert.ok(
    config.linux.namespaces.some((n) => n.type === 'network'),
    'a network namespace of its own',
  );
  for (const dest of ['/proc', '/dev', '/sys'])
    assert.ok(
      config.mounts.some((m) => m.destination === dest),
      dest,
    );
  assertNoContainers();
  rmSync(join(stateDir, '.bundles', id), { recursive: true });
});

test('daemonless run --bundle with -e, --cwd, --memory, --cpus: the process and its limits', async () => {
  const bundle = writeBundle(join(base, 'bundle-limits'), { args: ['true'] });
  const res = await run([
    '--bundle',
    bundle,
    '--rm',
    '-e',
    'GREETING=hello',
    '--cwd',
    '/tmp',
    '--memory',
    '64m',
    '--cpus',
    '0.5',
    '--',
    'sh',
    '-c',
    'echo "$GREETING from $(pwd) with PATH=$PATH"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us',
  ]);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout, 'hello from /tmp with PATH=/bin\n67108864\n50000\n');
  // The user's bundle is untouched.
  const original = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
    process: { args: string[] };
  };
  assert.deepEqual(original.process.args, ['true']);
  assertNoContainers();
});

test('daemonless run -t under a pseudo-terminal: a tty of our size, typed input, the status', async () => {
  const res = await underTerminal(
    `BERTH_ADDRESS=${address} TMPDIR=${tmp} ${process.execPath} ${CLI} run -t --rm --state-dir ${stateDir} --rootfs ${rootfs} -- sh -c 'tty; stty size; echo ready; read line; echo "got $line"; exit 4'`,
    { input: 'typed\r', ready: /ready/, cols: 77, rows: 22 },
  );
  assert.equal(res.status, 4, res.stdout);
  assert.match(res.stdout, /\/dev\/pts\/\d+/);
  assert.match(res.stdout, /22 77/);
  assert.match(res.stdout, /got typed/);
  assertNoContainers();
});

test("daemonless run -t: a window-size change here (SIGWINCH) resizes the container's terminal", async () => {
  // stty in the background changes the pseudo-terminal's size: the kernel sends SIGWINCH to the CLI.
  const res = await underTerminal(
    `(sleep 1.5; stty cols 50 rows 20 </dev/tty) & BERTH_ADDRESS=${address} TMPDIR=${tmp} ${process.execPath} ${CLI} run -t --rm --state-dir ${stateDir} --rootfs ${rootfs} -- sh -c 'stty size; echo ready; read line; stty size; exit 0'`,
    { input: 'go\r', ready: /ready/, typeAfterMs: 2500, cols: 100, rows: 40 },
  );
  assert.equal(res.status, 0, res.stdout);
  assert.match(res.stdout, /40 100[\s\S]*20 50/);
  assertNoContainers();
});

test('daemonless run: Ctrl-C is forwarded as SIGINT; the third sends SIGKILL', async () => {
  const trapping = spawnBerth(
    [
      'run',
      '--state-dir',
      stateDir,
      '--rm',
      '--rootfs',
      rootfs,
      '--',
      'sh',
      '-c',
      'trap "exit 42" INT; echo ready; while :; do sleep 0.1; done',
    ],
    env,
  );
  await outputUntil(trapping, /ready/);
  trapping.kill('SIGINT');
  assert.deepEqual(await exited(trapping), { status: 42, signal: null });

  // PID 1 without a handler ignores SIGINT: the third Ctrl-C kills it.
  const stubborn = spawnBerth(
    [
      'run',
      '--state-dir',
      stateDir,
      '--rootfs',
      rootfs,
      '--',
      'sh',
      '-c',
      'echo ready; exec sleep 300',
    ],
    env,
  );
  await outputUntil(stubborn, /ready/);
  for (let i = 0; i < 3; i++) {
    stubborn.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(await exited(stubborn), { status: 137, signal: null });
  assertNoContainers();
});

// Daemonless, bad flags are usage errors.
for (const [what, args] of [
  ['no image, bundle or rootfs', ['--', 'true']],
  ['--rootfs and --bundle', ['--rootfs', rootfs, '--bundle', base, '--', 'true']],
  ['--memory lots', ['--rootfs', rootfs, '--memory', 'lots', '--', 'true']],
  ['--cpus -1', ['--rootfs', rootfs, '--cpus', '-1', '--', 'true']],
  ['--bogus', ['--rootfs', rootfs, '--bogus', '--', 'true']],
] as const)
  test(`daemonless run, ${what}: a usage error`, async () => {
    const res = await run([...args]);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(
      res.stderr,
      /^berth: .*; see 'berth run --help' \(ERR_USAGE\)\n$|^berth: .* \(ERR_USAGE\)\n$/,
    );
  });

test('daemonless run: -d refused, library errors carry their code', async () => {
  const detached = await run(['-d', '--rootfs', rootfs, '--', 'true']);
  assert.equal(detached.status, 1);
  assert.match(
    detached.stderr,
    /^berth: run -d needs berthd, and none listens at unix:\/\/.* \(ERR_NO_DAEMON\)\n$/,
  );

  const badId = await run(['--name', '../escape', '--rootfs', rootfs, '--', 'true']);
  assert.equal(badId.status, 1);
  assert.match(badId.stderr, /\(ERR_INVALID_ID\)\n$/);

  const noRootfs = await run(['--rootfs', join(base, 'nowhere'), '--', 'true']);
  assert.equal(noRootfs.status, 1);
  assert.match(noRootfs.stderr, /\(ERR_BUNDLE_NOT_FOUND\)\n$/);

  const empty = join(base, 'empty-bundle');
  mkdirSync(empty, { recursive: true });
  const noConfig = await run(['--bundle', empty, '--', 'true']);
  assert.equal(noConfig.status, 1);
  assert.match(noConfig.stderr, /^berth: .* \(ENOENT\)\n$/);

  const id = uniqueId('r');
  const missing = await run(['--rootfs', rootfs, '--rm', '--name', id, '--', 'no-such-program']);
  assert.equal(missing.status, 1);
  const lines = missing.stderr.split('\n').filter(Boolean);
  assert.match(lines.at(-1)!, /^berth: .*no-such-program.* \(ERR_[A-Z_]+\)$/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /);
  assertNoContainers();
});

test('spec: a config.json as runc spec writes it; refuses to overwrite; usable by run --bundle', async () => {
  const dir = join(base, 'spec-bundle');
  mkdirSync(dir);
  const res = await berth([
    'spec',
    '-b',
    dir,
    '--rootfs',
    rootfs,
    '--no-terminal',
    '--',
    'sh',
    '-c',
    'echo from spec; exit 3',
  ]);
  assert.equal(res.status, 0, res.stderr);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
    ociVersion: string;
    process: { args: string[]; terminal: boolean; env: string[] };
    root: { path: string; readonly: boolean };
  };
  assert.equal(config.ociVersion, '1.0.2-dev');
  assert.deepEqual(config.process.args, ['sh', '-c', 'echo from spec; exit 3']);
  assert.equal(config.process.terminal, false);
  assert.deepEqual(config.root, { path: rootfs, readonly: true });

  const again = await berth(['spec', '-b', dir]);
  assert.equal(again.status, 1);
  assert.match(
    again.stderr,
    /^berth: .*config\.json exists: remove it first, or use --force \(EEXIST\)\n$/,
  );

  const ran = await run(['--bundle', dir]);
  assert.equal(ran.status, 3, ran.stderr);
  assert.equal(ran.stdout, 'from spec\n');

  const printed = await berth(['spec', '--stdout']);
  const defaults = JSON.parse(printed.stdout) as {
    process: { args: string[]; terminal: boolean };
    root: { path: string };
  };
  assert.deepEqual(defaults.process.args, ['sh']);
  assert.equal(defaults.process.terminal, true);
  assert.equal(defaults.root.path, 'rootfs');
  writeFileSync(join(dir, 'config.json'), '{}');
  assert.equal((await berth(['spec', '-b', dir, '--force'])).status, 0);
  assertNoContainers();
});
