/** The shim's command line and every line of its protocol, without a shim. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { shimArgs, type ShimInvocation } from '../../src/runtime/shim/argv.js';
import {
  ControlMessage,
  formatControlLine,
  parseEventLine,
  parseReadyLine,
} from '../../src/runtime/shim/protocol.js';

const base: ShimInvocation = {
  mode: 'create',
  containerId: 'web-1',
  bundle: '/srv/bundle',
  runtime: 'runc',
  runtimeArgs: ['--root', '/run/berth/.runtime/runc'],
  stdio: { stdin: '/dev/null', stdout: '/tmp/out', stderr: '/dev/null' },
  terminal: false,
  noPivotRoot: false,
  stdioTimeoutMs: 12000.7,
  readyFd: 3,
};

describe('shim argv', () => {
  test('create: ready fd first, init watches OOM, positional arguments last', () => {
    assert.deepEqual(shimArgs(base), [
      '--ready-fd',
      '3',
      '--mode',
      'create',
      '--stdio-timeout',
      '12000',
      '--stdin',
      '/dev/null',
      '--stdout',
      '/tmp/out',
      '--stderr',
      '/dev/null',
      '--oom',
      '--runtime-arg',
      '--root',
      '--runtime-arg',
      '/run/berth/.runtime/runc',
      'web-1',
      '/srv/bundle',
      'runc',
    ]);
  });

  test('exec: no OOM watch and no --no-pivot; a terminal is passed on', () => {
    const args = shimArgs({ ...base, mode: 'exec', terminal: true, noPivotRoot: true });
    assert.ok(args.includes('--terminal'));
    assert.ok(!args.includes('--oom'));
    assert.ok(!args.includes('--no-pivot'));
  });

  test('restore: the checkpoint and each restore flag', () => {
    const args = shimArgs({
      ...base,
      mode: 'restore',
      noPivotRoot: true,
      checkpoint: '/ck/one',
      restoreArgs: ['--tcp-established', '--empty-ns', 'network'],
    });
    const tail = args.slice(args.indexOf('--no-pivot'));
    assert.deepEqual(tail, [
      '--no-pivot',
      '--runtime-arg',
      '--root',
      '--runtime-arg',
      '/run/berth/.runtime/runc',
      '--checkpoint',
      '/ck/one',
      '--restore-arg',
      '--tcp-established',
      '--restore-arg',
      '--empty-ns',
      '--restore-arg',
      'network',
      'web-1',
      '/srv/bundle',
      'runc',
    ]);
  });

  test('--self-delete for an init the library allows it, never for an exec', () => {
    const args = shimArgs({ ...base, selfDelete: true });
    assert.deepEqual(args.slice(args.indexOf('--oom'), args.indexOf('--runtime-arg')), [
      '--oom',
      '--self-delete',
    ]);
    assert.ok(!shimArgs(base).includes('--self-delete'));
    assert.ok(!shimArgs({ ...base, mode: 'exec', selfDelete: true }).includes('--self-delete'));
  });

  test('a checkpoint outside restore mode is not passed', () => {
    assert.ok(!shimArgs({ ...base, checkpoint: '/ck/one' }).includes('--checkpoint'));
  });
});

describe('readiness line', () => {
  test('ok PID and error MESSAGE', () => {
    assert.deepEqual(parseReadyLine('ok 4242'), { ok: true, pid: 4242 });
    assert.deepEqual(parseReadyLine('error runc create failed: no such file'), {
      ok: false,
      message: 'runc create failed: no such file',
    });
    assert.deepEqual(parseReadyLine('error'), { ok: false, message: '' });
  });

  for (const line of ['', 'ok', 'ok 0', 'ok -1', 'ok 12x', 'ok 99999999999', 'OK 1', 'fine'])
    test(`${JSON.stringify(line)} is not a report`, () => {
      assert.equal(parseReadyLine(line), undefined);
    });
});

describe('event lines', () => {
  test('exit, oom, lost, deleted', () => {
    assert.deepEqual(parseEventLine('exit 0'), { type: 'exit', status: 0 });
    assert.deepEqual(parseEventLine('exit 137'), { type: 'exit', status: 137 });
    assert.deepEqual(parseEventLine('oom'), { type: 'oom' });
    assert.deepEqual(parseEventLine('lost stdout'), { type: 'lost', stream: 'stdout' });
    assert.deepEqual(parseEventLine('lost stderr'), { type: 'lost', stream: 'stderr' });
    assert.deepEqual(parseEventLine('deleted'), { type: 'deleted' });
  });

  for (const line of [
    'exit',
    'exit -1',
    'exit 1 2',
    'exit 1000',
    'lost stdin',
    'oom 1',
    'deleted 0',
    'x',
  ])
    test(`${JSON.stringify(line)} is unknown, never an exit`, () => {
      assert.deepEqual(parseEventLine(line), { type: 'unknown', line });
    });
});

test('control lines', () => {
  assert.equal(formatControlLine(ControlMessage.CloseStdin), '0 0 0\n');
  assert.equal(formatControlLine(ControlMessage.Resize, 120, 40), '1 120 40\n');
  assert.equal(formatControlLine(ControlMessage.DiscardOutput), '2 0 0\n');
});
