/** berthd's flags: containerd v0.2.8's names and Go's argument forms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FlagError,
  isContainerdShim,
  normalizeGoArgs,
  parseFlags,
  type DaemonOptions,
} from '../../src/daemon/flags.js';
import { DEFAULT_ADDRESS } from '../../src/api/address.js';
import { DEFAULT_RUNTIME, DEFAULT_START_TIMEOUT_MS } from '../../src/runtime/index.js';
import { DEFAULT_RETAIN_COUNT } from '../../src/supervisor/journal.js';

function run(argv: string[], cwd = '/work'): DaemonOptions {
  const result = parseFlags(argv, { version: '1.2.3', cwd });
  assert.equal(result.kind, 'run');
  return (result as { options: DaemonOptions }).options;
}

function refused(argv: string[], pattern: RegExp) {
  assert.throws(
    () => parseFlags(argv),
    (err: unknown) => {
      assert.ok(err instanceof FlagError, `FlagError, got ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('defaults', () => {
  assert.deepEqual(run([]), {
    listen: DEFAULT_ADDRESS,
    stateDir: '/run/berth',
    runtime: 'runc',
    runtimeArgs: [],
    shim: undefined,
    startTimeoutMs: 15_000,
    retainCount: 500,
    logLevel: 'info',
    metricsIntervalMs: 0,
    graphiteAddress: undefined,
    pprofAddress: undefined,
    warnings: [],
    criListen: undefined,
    store: undefined,
    cniConfDir: '/etc/cni/net.d',
    cniBinDirs: ['/usr/lib/cni', '/opt/cni/bin'],
    sandboxImage: 'registry.k8s.io/pause:3.9',
    streamingAddress: { host: '127.0.0.1', port: 0 },
    netnsDir: '/run/berth/netns',
  });
  assert.equal(DEFAULT_ADDRESS, 'unix:///run/berth/berthd.sock');
});

test('a containerd v0.2.8 command line runs berthd unchanged', () => {
  const options = run([
    '--state-dir',
    '/var/run/x',
    '--listen',
    'unix:///var/run/x.sock',
    '--runtime',
    '/usr/bin/runc',
    '--runtime-args',
    '--systemd-cgroup=true',
    '--runtime-args',
    '--debug',
    '--start-timeout',
    '15s',
    '--retain-count',
    '42',
    '--debug',
    '--metrics-interval',
    '0',
  ]);
  assert.equal(options.stateDir, '/var/run/x');
  assert.equal(options.listen, 'unix:///var/run/x.sock');
  assert.equal(options.runtime, '/usr/bin/runc');
  // A value flag takes the next argument even when it looks like a flag, as Go's flag does.
  assert.deepEqual(options.runtimeArgs, ['--systemd-cgroup=true', '--debug']);
  assert.equal(options.startTimeoutMs, 15_000);
  assert.equal(options.retainCount, 42);
  assert.equal(options.logLevel, 'debug');
  assert.equal(options.metricsIntervalMs, 0);
  assert.deepEqual(options.warnings, []);
});

test("Docker 17.05's own containerd command line (libcontainerd)", () => {
  const options = run([
    '-l',
    'unix:///var/run/docker/libcontainerd/docker-containerd.sock',
    '--metrics-interval=0',
    '--start-timeout',
    '2m',
    '--state-dir',
    '/var/run/docker/libcontainerd/containerd',
    '--shim',
    'docker-containerd-shim',
    '--runtime',
    'docker-runc',
    '--debug',
  ]);
  assert.equal(options.listen, 'unix:///var/run/docker/libcontainerd/docker-containerd.sock');
  assert.equal(options.startTimeoutMs, 120_000);
  assert.equal(options.runtime, 'docker-runc');
  // containerd's shim cannot drive berth: berth's own is used, with a warning.
  assert.equal(options.shim, undefined);
  assert.match(options.warnings.join('\n'), /docker-containerd-shim/);
});

test("Go's forms: -flag value, -flag=value, --flag=value, -l/-r, --l", async (t) => {
  const forms = [
    ['-state-dir', '/s', '-listen', 'unix:///a.sock', '-runtime', 'crun'],
    ['-state-dir=/s', '-listen=unix:///a.sock', '-runtime=crun'],
    ['--state-dir=/s', '--listen=unix:///a.sock', '--runtime=crun'],
    ['--state-dir', '/s', '-l', 'unix:///a.sock', '-r', 'crun'],
    ['--state-dir', '/s', '-l=unix:///a.sock', '--r=crun'],
    ['--state-dir', '/s', '--l', 'unix:///a.sock', '-r', 'crun'],
  ];
  for (const argv of forms)
    await t.test(argv.join(' '), () => {
      const options = run(argv);
      assert.deepEqual(
        [options.stateDir, options.listen, options.runtime],
        ['/s', 'unix:///a.sock', 'crun'],
      );
    });
  assert.deepEqual(run(['-runtime-args', 'a', '-runtime-args=b', '--runtime-args=c']).runtimeArgs, [
    'a',
    'b',
    'c',
  ]);
  assert.equal(run(['-retain-count', '7']).retainCount, 7);
  assert.equal(run(['-start-timeout=500ms']).startTimeoutMs, 500);
});

test('bool flags: --debug, -debug, --debug=true/false (last wins); --log-level overrides', () => {
  assert.equal(run(['--debug']).logLevel, 'debug');
  assert.equal(run(['-debug']).logLevel, 'debug');
  assert.equal(run(['--debug=true']).logLevel, 'debug');
  assert.equal(run(['--debug=1']).logLevel, 'debug');
  assert.equal(run(['--debug=false']).logLevel, 'info');
  assert.equal(run(['--debug', '--debug=false']).logLevel, 'info');
  assert.equal(run(['--debug', '--log-level', 'warn']).logLevel, 'warn');
  assert.equal(run(['--log-level=panic']).logLevel, 'fatal');
  assert.equal(run(['-log-level', 'warning']).logLevel, 'warn');
  assert.equal(run(['--log-level', 'ERROR']).logLevel, 'error');
  refused(['--debug=maybe'], /invalid boolean value "maybe" for -debug/);
  refused(['--log-level', 'loud'], /log-level.*loud|loud.*log-level/s);
});

test('relative state dirs are made absolute; metrics, graphite and pprof are accepted with a warning', () => {
  assert.equal(run(['--state-dir', 'state'], '/srv').stateDir, '/srv/state');
  const options = run([
    '--metrics-interval',
    '5m',
    '--graphite-address',
    'localhost:2003',
    '--pprof-address',
    'localhost:6060',
  ]);
  assert.equal(options.metricsIntervalMs, 300_000);
  assert.equal(options.graphiteAddress, 'localhost:2003');
  assert.equal(options.warnings.length, 3);
  assert.match(options.warnings.join('\n'), /metrics.*graphite.*pprof/s);
  // A berth-shim path is kept.
  assert.equal(run(['--shim', '/opt/berth/berth-shim']).shim, '/opt/berth/berth-shim');
});

test('bad durations, counts, unknown flags and stray arguments are clear errors', () => {
  refused(['--start-timeout', '15'], /invalid duration "15".*Go duration/);
  refused(['--start-timeout', '15x'], /invalid duration "15x"/);
  refused(['--start-timeout', ''], /invalid duration ""/);
  refused(['--start-timeout', '0'], /greater than zero/);
  refused(['--start-timeout', '-5s'], /greater than zero/);
  refused(['--metrics-interval', 'often'], /invalid duration "often"/);
  refused(['--retain-count', '0'], /retain-count.*1 or more/s);
  refused(['--retain-count', 'many'], /retain-count/);
  refused(['--bogus'], /unknown option '--bogus'/);
  refused(['-bogus', 'x'], /unknown option '-bogus'/);
  refused(['-x'], /unknown option '-x'/);
  refused(['stray'], /too many arguments|unexpected/);
  refused(['--debug', 'true'], /too many arguments|unexpected/);
  refused(['--state-dir'], /flag needs an argument: -state-dir/);
  refused(['-l'], /flag needs an argument: -l/);
});

for (const flag of ['--help', '-h', '-help'])
  test(`${flag} prints the help and does not run`, () => {
    const result = parseFlags([flag]);
    assert.equal(result.kind, 'help');
    const text = (result as { text: string }).text;
    for (const name of ['--listen', '--state-dir', '--runtime-args', '--start-timeout']) {
      assert.ok(text.includes(name), `help mentions ${name}`);
    }
  });

for (const flag of ['--version', '-v'])
  test(`${flag} prints the version and does not run`, () => {
    assert.deepEqual(parseFlags([flag], { version: '1.2.3' }), {
      kind: 'version',
      text: 'berthd 1.2.3\n',
    });
  });

test('normalizeGoArgs and containerd shim names', () => {
  assert.deepEqual(normalizeGoArgs(['-l', 'unix:///x', '-debug', '-r=runc']), [
    '--listen=unix:///x',
    '--debug',
    '--runtime=runc',
  ]);
  assert.ok(isContainerdShim('containerd-shim'));
  assert.ok(isContainerdShim('/usr/bin/docker-containerd-shim'));
  assert.ok(!isContainerdShim('/opt/berth/berth-shim'));
});

test('CRI flags: --cri-listen, --store, --cni-conf-dir, repeated --cni-bin-dir, --sandbox-image, --streaming-address', () => {
  const options = run(
    [
      '--cri-listen',
      'unix:///run/berth/cri.sock',
      '-store=images',
      '--cni-conf-dir=/etc/cni/x',
      '-cni-bin-dir',
      '/opt/a',
      '--cni-bin-dir',
      'rel/b',
      '--sandbox-image',
      '127.0.0.1:5000/pause:3.9',
      '--streaming-address',
      '[::1]:10010',
    ],
    '/work',
  );
  assert.equal(options.criListen, 'unix:///run/berth/cri.sock');
  assert.equal(options.store, '/work/images');
  assert.equal(options.cniConfDir, '/etc/cni/x');
  assert.deepEqual(options.cniBinDirs, ['/opt/a', '/work/rel/b']);
  assert.equal(options.sandboxImage, '127.0.0.1:5000/pause:3.9');
  assert.deepEqual(options.streamingAddress, { host: '::1', port: 10010 });
  assert.deepEqual(run(['--streaming-address', '0.0.0.0:0']).streamingAddress, {
    host: '0.0.0.0',
    port: 0,
  });
});

test('--netns-dir: where pods’ network namespaces are bound, made absolute, never empty', () => {
  assert.equal(run(['--netns-dir', '/var/run/netns']).netnsDir, '/var/run/netns');
  assert.equal(run(['-netns-dir=ns'], '/srv/berth').netnsDir, '/srv/berth/ns');
  refused(['--netns-dir', ''], /--netns-dir must not be empty/);
  refused(['--netns-dir'], /flag needs an argument: -netns-dir/);
});

test('bad CRI flags are clear errors', () => {
  refused(['--cri-listen', 'tcp://127.0.0.1:1'], /--cri-listen must be unix:\/\/\/absolute\/path/);
  refused(['--cri-listen', 'unix://relative'], /--cri-listen must be unix/);
  refused(['--cri-listen', `unix:///${'x'.repeat(120)}`], /--cri-listen: .*longer than 107 bytes/);
  refused(['--cri-listen'], /flag needs an argument: -cri-listen/);
  refused(['--sandbox-image', 'pause:bad tag'], /invalid reference/);
  refused(['--streaming-address', '127.0.0.1'], /--streaming-address must be host:port/);
  refused(['--streaming-address', '127.0.0.1:70000'], /--streaming-address must be host:port/);
  refused(['--store', ''], /--store must not be empty/);
  refused(['--cni-bin-dir', ''], /--cni-bin-dir must not be empty/);
});

test("the defaults are the library's and the supervisor's, not copies", () => {
  const options = run([]);
  assert.equal(options.startTimeoutMs, DEFAULT_START_TIMEOUT_MS);
  assert.equal(options.runtime, DEFAULT_RUNTIME);
  assert.equal(options.retainCount, DEFAULT_RETAIN_COUNT);
  assert.equal(options.listen, DEFAULT_ADDRESS);
});
