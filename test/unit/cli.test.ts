/**
 * The CLI's pure parts (addresses, signals, sizes, times, tables, JSON,
 * errors, bundle configs, stats figures) and its command line as a whole
 * (help everywhere, usage errors, completion): no daemon, no containers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { isListening, parseAddress } from '../../src/cli/client.js';
import { CliError, UsageError, describeError, formatError } from '../../src/cli/errors.js';
import {
  formatAge,
  formatBytes,
  formatTimestamp,
  parseBytes,
  parseSince,
  table,
  toJson,
} from '../../src/cli/output.js';
import { createProgram } from '../../src/cli/program.js';
import { parseSignal, signalName } from '../../src/cli/signals.js';
import {
  applyOverrides,
  configJson,
  defaultSpec,
  mergeEnv,
  readRelocatedConfig,
} from '../../src/cli/spec.js';
import { statsFigures, eventLine, EVENT_HEADER } from '../../src/cli/views.js';
import { ContainerNotFoundError } from '../../src/runtime/index.js';
import type { StatsResponse } from '../../src/api/generated/berth.js';
import { CLI } from '../helpers/cli.js';

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, BERTH_ADDRESS: 'unix:///nonexistent/berth-unit.sock', ...env },
    input: '',
  });
}

test('addresses: unix:///path, unix:/path and /path; anything else is a usage error', () => {
  assert.deepEqual(parseAddress('unix:///run/berth/berthd.sock'), {
    address: 'unix:///run/berth/berthd.sock',
    path: '/run/berth/berthd.sock',
  });
  assert.equal(parseAddress('unix:/tmp/s.sock').address, 'unix:///tmp/s.sock');
  assert.equal(parseAddress('/tmp/s.sock').address, 'unix:///tmp/s.sock');
});

for (const [what, bad] of [
  ['a tcp address', 'tcp://127.0.0.1:1'],
  ['a relative unix path', 'unix://relative/s.sock'],
  ['a bare file name', 'berthd.sock'],
  ['a path too long for a socket', `/${'x'.repeat(120)}`],
] as const)
  test(`parseAddress: ${what} is a UsageError`, () => {
    assert.throws(() => parseAddress(bad), UsageError);
  });

test('isListening: no socket and a dead socket are false', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-unit-'));
  try {
    assert.equal(await isListening(join(dir, 'none.sock')), false);
    writeFileSync(join(dir, 'file.sock'), '');
    assert.equal(await isListening(join(dir, 'file.sock')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('signals: names with or without SIG, any case, numbers, real-time offsets', () => {
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('sigterm'), 15);
  assert.equal(parseSignal('int'), 2);
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('64'), 64);
  assert.equal(parseSignal('RTMIN+2'), 36);
  assert.equal(parseSignal('SIGRTMAX'), 64);
  assert.equal(signalName(9), 'SIGKILL');
  assert.equal(signalName(40), '40');
});

for (const bad of ['0', '65', 'NOPE', '', 'SIGRTMIN+40'])
  test(`parseSignal: ${JSON.stringify(bad)} is a UsageError`, () => {
    assert.throws(() => parseSignal(bad), UsageError);
  });

test('sizes, durations and times', () => {
  assert.equal(parseBytes('67108864'), 67108864n);
  assert.equal(parseBytes('64m'), 64n * 1024n * 1024n);
  assert.equal(parseBytes('1.5G'), 3n * 512n * 1024n * 1024n);
  assert.equal(parseBytes('512KiB'), 512n * 1024n);
  assert.equal(parseBytes('lots'), undefined);
  assert.equal(parseBytes('-5'), undefined);
  assert.equal(formatBytes(1536), '1.50KiB');
  assert.equal(formatBytes(64n * 1024n * 1024n), '64.0MiB');
  assert.equal(formatBytes(12), '12B');
  assert.equal(formatAge(59_999), '59s');
  assert.equal(formatAge(3_600_000 * 5), '5h');
  assert.equal(formatAge(86_400_000 * 3), '3d');
  assert.equal(formatAge(-1), '-');

  const now = Date.UTC(2024, 4, 1, 12, 0, 0);
  assert.equal(
    parseSince('2024-05-01T10:00:00Z', now),
    BigInt(Date.UTC(2024, 4, 1, 10)) * 1_000_000n,
  );
  assert.equal(
    parseSince('2024-05-01T10:00:00.123456789Z', now),
    BigInt(Date.UTC(2024, 4, 1, 10)) * 1_000_000n + 123_456_789n,
  );
  assert.equal(
    parseSince('2024-05-01T12:00:00+02:00', now),
    BigInt(Date.UTC(2024, 4, 1, 10)) * 1_000_000n,
  );
  assert.equal(parseSince('10m', now), BigInt(now - 600_000) * 1_000_000n);
  assert.equal(parseSince('1714557600000000001', now), 1714557600000000001n);
  assert.equal(parseSince('yesterday', now), undefined);
  assert.equal(
    formatTimestamp({ seconds: 1714557600n, nanos: 5 }),
    '2024-05-01T10:00:00.000000005Z',
  );
  assert.equal(formatTimestamp(undefined), '');
});

test('tables align columns; JSON keeps uint64 values exact', () => {
  assert.equal(
    table(
      ['ID', 'STATUS', 'BUNDLE'],
      [
        ['a', 'running', '/x'],
        ['longer-id', 'paused', '/y/z'],
      ],
    ),
    'ID          STATUS    BUNDLE\na           running   /x\nlonger-id   paused    /y/z\n',
  );
  assert.equal(
    toJson({ n: 18446744073709551615n, s: 'x' }, false),
    '{"n":18446744073709551615,"s":"x"}',
  );
});

test('events: fixed columns with two spaces at least, whatever the width of a value', () => {
  const line = eventLine({
    type: 'start-container',
    id: 'a-rather-long-container-id-indeed',
    pid: 'init',
    status: 0,
    timestamp: { seconds: 1714557600n, nanos: 1 },
  });
  assert.equal(line.trim().split(/\s{2,}/).length, 5, `${EVENT_HEADER}${line}`);
  assert.deepEqual(EVENT_HEADER.trim().split(/\s{2,}/), ['TIME', 'TYPE', 'ID', 'PID', 'STATUS']);
});

test('errors: one line, the gRPC status name, the library code, the errno', () => {
  const grpc = Object.assign(new Error('5 NOT_FOUND: container x not found'), {
    code: status.NOT_FOUND,
    details: 'container x not found',
    metadata: new Metadata(),
  });
  assert.equal(formatError(describeError(grpc)), 'berth: container x not found (NOT_FOUND)');
  const unavailable = Object.assign(new Error('14 UNAVAILABLE'), {
    code: status.UNAVAILABLE,
    details:
      'No connection established. Last error: Error: connect ENOENT /run/x.sock. Resolution note: ',
    metadata: new Metadata(),
  });
  assert.equal(
    formatError(describeError(unavailable, 'unix:///run/x.sock')),
    'berth: cannot reach berthd at unix:///run/x.sock: connect ENOENT /run/x.sock (UNAVAILABLE)',
  );
  assert.equal(
    formatError(describeError(new ContainerNotFoundError('container y not found'))),
    'berth: container y not found (ERR_CONTAINER_NOT_FOUND)',
  );
  const errno = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
  assert.equal(formatError(describeError(errno)), 'berth: ENOENT: no such file (ENOENT)');
  assert.equal(
    formatError(describeError(new Error('first\n  second'))),
    'berth: first; second (ERR_INTERNAL)',
  );
  assert.equal(describeError(new UsageError('x')).exitCode, 2);
  assert.equal(describeError(new CliError('x', 'ERR_X')).exitCode, 1);
});

test('default spec: runc spec essentials, overrides, exact numbers', () => {
  const spec = defaultSpec() as {
    process: { terminal: boolean; args: string[]; env: string[] };
    root: { path: string; readonly: boolean };
    linux: { namespaces: Array<{ type: string }> };
    mounts: Array<{ destination: string }>;
  };
  assert.equal(spec.process.terminal, true);
  assert.deepEqual(spec.process.args, ['sh']);
  assert.deepEqual(spec.root, { path: 'rootfs', readonly: true });
  assert.deepEqual(
    spec.linux.namespaces.map((n) => n.type),
    ['pid', 'network', 'ipc', 'uts', 'mount'],
  );
  for (const dest of ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup'])
    assert.ok(
      spec.mounts.some((m) => m.destination === dest),
      dest,
    );

  const tuned = defaultSpec({
    args: ['echo', 'hi'],
    env: ['PATH=/bin', 'A=1'],
    terminal: true,
    consoleSize: { width: 80, height: 24 },
    memory: 1n << 26n,
    cpus: 1.5,
  }) as {
    process: { env: string[]; consoleSize: object };
    linux: { resources: { memory: object; cpu: object } };
  };
  assert.deepEqual(tuned.process.env, ['PATH=/bin', 'TERM=xterm', 'A=1']);
  assert.deepEqual(tuned.process.consoleSize, { height: 24, width: 80 });
  assert.deepEqual(tuned.linux.resources.memory, { limit: 1n << 26n, swap: 1n << 26n });
  assert.deepEqual(tuned.linux.resources.cpu, { period: 100_000, quota: 150_000 });
  const noTty = applyOverrides(
    { process: { terminal: false } },
    { consoleSize: { width: 1, height: 1 } },
  );
  assert.deepEqual(noTty, { process: { terminal: false } });
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4']), ['A=1', 'B=3', 'C=4']);

  const dir = mkdtempSync(join(tmpdir(), 'berth-unit-'));
  try {
    writeFileSync(
      join(dir, 'config.json'),
      '{"root":{"path":"rootfs"},"process":{"terminal":true},"linux":{"resources":{"memory":{"swappiness":18446744073709551615}}},"mounts":[{"destination":"/data","type":"bind","source":"data","options":["rbind"]}]}',
    );
    const relocated = readRelocatedConfig(dir);
    const text = configJson(relocated);
    assert.match(text, /"swappiness": 18446744073709551615/);
    assert.match(text, new RegExp(`"path": "${join(dir, 'rootfs')}"`));
    assert.match(text, new RegExp(`"source": "${join(dir, 'data')}"`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stats figures: CPU % from two samples against the host, memory less the cache', () => {
  const sample = (
    total: bigint,
    system: bigint,
    usage: bigint,
  ): { id: string; stats: StatsResponse } => ({
    id: 'c',
    stats: {
      networkStats: [],
      timestamp: undefined,
      cgroupStats: {
        cpuStats: {
          cpuUsage: {
            totalUsage: total,
            percpuUsage: [0n, 0n],
            usageInKernelmode: 0n,
            usageInUsermode: 0n,
          },
          throttlingData: undefined,
          systemUsage: system,
        },
        memoryStats: {
          cache: 0n,
          usage: { usage, maxUsage: 0n, failcnt: 0n, limit: 1n << 27n },
          swapUsage: undefined,
          kernelUsage: undefined,
          stats: { total_inactive_file: 1n << 20n },
        },
        blkioStats: undefined,
        hugetlbStats: {},
        pidsStats: { current: 3n, limit: 0n },
      },
    },
  });
  const first = sample(1_000_000_000n, 100_000_000_000n, 3n << 20n);
  const second = sample(1_500_000_000n, 102_000_000_000n, 3n << 20n);
  const figures = statsFigures(second, first);
  // 0.5 s of CPU over 2 s of host time on 2 CPUs: 50 % of one CPU.
  assert.equal(figures.cpuPercent, 50);
  assert.equal(figures.memoryUsage, 2n << 20n);
  assert.equal(figures.memoryPercent, ((2 << 20) / (1 << 27)) * 100);
  assert.equal(figures.pids, 3n);
  assert.equal(statsFigures(first).cpuPercent, undefined);
});

/** Every command path: `containers start`, ... */
function commandPaths(command: CommandUnknownOpts, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

test('--help: examples and exit statuses; --version; exit status 0', () => {
  const top = cli(['--help']);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.stdout, /Examples:/);
  assert.match(top.stdout, /Exit status:/);
  assert.match(cli(['--version']).stdout, /^\d+\.\d+\.\d+\n$/);
});

for (const path of commandPaths(createProgram()).filter((p) => p.at(-1) !== 'help'))
  test(`${path.join(' ')} --help: usage and examples; exit status 0`, () => {
    const res = cli([...path, '--help']);
    assert.equal(res.status, 0, `${path.join(' ')}: ${res.stderr}`);
    assert.match(res.stdout, new RegExp(`^Usage: berth ${path.join(' ')}`), path.join(' '));
    assert.match(res.stdout, /Examples:\n {2}\$ berth /, path.join(' '));
  });

// Usage errors: exit status 2, one line, no daemon contacted.
for (const args of [
  [],
  ['bogus'],
  ['containers', 'list', '--nope'],
  ['containers', 'start', 'id-only'],
  ['containers', 'exec', '--pid', 'x', '--', 'true'],
  ['containers', 'kill', '-s', 'SIGWHAT', 'x'],
  ['containers', 'update', '--memory-limit', 'much', 'x'],
  ['containers', 'update', '--blkio-weight-device', '8:0', 'x'],
  ['events', '-t', 'whenever'],
  ['checkpoints'],
  ['checkpoints', 'delete', 'x'],
  ['completion', 'fish'],
  ['--address', 'tcp://1.2.3.4:5', 'version'],
  ['run', '--', 'true'],
])
  test(`usage error: berth ${args.join(' ') || '(nothing)'}: exit status 2, one line`, () => {
    const res = cli(args);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    if (args.length) {
      const lines = res.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.match(lines[0]!, /^berth: .* \(ERR_USAGE\)$/);
    }
  });

test('no berthd there: an error (1), not a usage error', () => {
  const down = cli(['containers', 'list']);
  assert.equal(down.status, 1);
  assert.match(
    down.stderr,
    /^berth: cannot reach berthd at unix:\/\/\/nonexistent\/berth-unit\.sock: .* \(UNAVAILABLE\)\n$/,
  );
});

test('bash completion: valid bash; completes commands, options and aliases', () => {
  const script = cli(['completion', 'bash']);
  assert.equal(script.status, 0, script.stderr);
  const syntax = spawnSync('bash', ['-n'], { input: script.stdout, encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  const complete = (...words: string[]) => {
    const shell = `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _berth; echo "\${COMPREPLY[*]}"`;
    const res = spawnSync('bash', ['-c', shell], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/usr/bin:/bin' },
    });
    return res.stdout.trim().split(/\s+/).filter(Boolean).sort();
  };
  assert.deepEqual(complete('berth', 'con'), ['containers']);
  assert.deepEqual(complete('berth', 'containers', 'ki'), ['kill']);
  assert.ok(complete('berth', 'containers', 'start', '--').includes('--attach'));
  assert.ok(complete('berth', 'containers', 'ls', '-').includes('--quiet'));
  assert.ok(complete('berth', '--json', 'checkpoints', 'create', '--').includes('--unix-sockets'));
  assert.deepEqual(complete('berth', 'run', '--rootfs', '/x', '--', 'sh', '--'), []);
});
