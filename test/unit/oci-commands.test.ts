/** The OCI runtime's command lines and its error messages, without a runtime. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkpointCommand,
  deleteCommand,
  hasRootArg,
  hasSystemdCgroupArg,
  isNotExistMessage,
  pauseCommand,
  resumeCommand,
  runtimeStateExists,
  startCommand,
  stateCommand,
  updateCommand,
} from '../../src/runtime/oci/commands.js';
import { RUNTIME_WORDS_MAX, lastRuntimeError } from '../../src/runtime/oci/log.js';

describe('subcommands', () => {
  test('one builder each', () => {
    assert.deepEqual(stateCommand('a'), ['state', 'a']);
    assert.deepEqual(startCommand('a'), ['start', 'a']);
    assert.deepEqual(pauseCommand('a'), ['pause', 'a']);
    assert.deepEqual(resumeCommand('a'), ['resume', 'a']);
    assert.deepEqual(deleteCommand('a'), ['delete', 'a']);
    assert.deepEqual(deleteCommand('a', { force: true }), ['delete', '--force', 'a']);
    assert.deepEqual(updateCommand('a'), ['update', '--resources', '-', 'a']);
  });

  test('checkpoint: paths, leave-running, CRIU flags, id last', () => {
    assert.deepEqual(
      checkpointCommand('a', {
        imagePath: '/ck/x',
        workPath: '/ck/x/criu.work',
        leaveRunning: true,
        criuFlags: ['--tcp-established'],
      }),
      [
        'checkpoint',
        '--image-path',
        '/ck/x',
        '--work-path',
        '/ck/x/criu.work',
        '--leave-running',
        '--tcp-established',
        'a',
      ],
    );
    const exiting = checkpointCommand('a', {
      imagePath: '/i',
      workPath: '/w',
      leaveRunning: false,
      criuFlags: [],
    });
    assert.ok(!exiting.includes('--leave-running'));
  });

  test('global arguments: --root in either form, the systemd driver', () => {
    assert.equal(hasRootArg(['--root', '/x']), true);
    assert.equal(hasRootArg(['--root=/x']), true);
    assert.equal(hasRootArg(['--rootless', 'true']), false);
    assert.equal(hasRootArg([]), false);
    assert.equal(hasSystemdCgroupArg(['--systemd-cgroup']), true);
    assert.equal(hasSystemdCgroupArg(['--debug']), false);
  });

  test('"not there" in runc and crun words', () => {
    assert.equal(isNotExistMessage('container "a" does not exist'), true);
    assert.equal(isNotExistMessage('container does not exist'), true);
    assert.equal(isNotExistMessage('error opening file `/run/crun/a/status`: No such file'), true);
    assert.equal(isNotExistMessage('container is running'), false);
  });
});

describe('the runtime error in its log', () => {
  test('the last error or fatal JSON line wins over earlier ones and over info', () => {
    const log = [
      '{"level":"info","msg":"starting","time":"t"}',
      '{"level":"error","msg":"first failure","time":"t"}',
      '{"level":"fatal","msg":"container_linux.go:380: starting container process caused: exec: \\"nope\\": executable file not found in $PATH","time":"t"}',
      '{"level":"info","msg":"cleaning up","time":"t"}',
    ].join('\n');
    assert.equal(
      lastRuntimeError(log),
      'container_linux.go:380: starting container process caused: exec: "nope": executable file not found in $PATH',
    );
  });

  test('plain text when there is no JSON error; nothing for an empty log', () => {
    assert.equal(lastRuntimeError('\nsomething broke\n\n'), 'something broke');
    assert.equal(lastRuntimeError('{"level":"info","msg":"ok"}\nplain words'), 'plain words');
    assert.equal(lastRuntimeError('{not json after all'), '{not json after all');
    assert.equal(lastRuntimeError(''), undefined);
  });

  test('plain text: the last lines, joined on one line, bounded, a cut marked', () => {
    assert.equal(lastRuntimeError('usage: x\n\n  boom: no\n'), 'usage: x; boom: no');
    const many = Array.from({ length: 500 }, (_, i) => `boom ${i + 1}`).join('\n');
    const words = lastRuntimeError(many)!;
    assert.ok(words.length <= RUNTIME_WORDS_MAX, `${words.length} chars`);
    assert.ok(words.startsWith('…boom '), words.slice(0, 20));
    assert.ok(words.endsWith('; boom 499; boom 500'));
    assert.doesNotMatch(words, /boom 1;/);
    const oneLong = `${'a'.repeat(3000)} the cause`;
    assert.equal(lastRuntimeError(oneLong), `…${oneLong.slice(-(RUNTIME_WORDS_MAX - 1))}`);
    const longError = JSON.stringify({ level: 'error', msg: `${'x'.repeat(5000)} cause` });
    assert.ok(lastRuntimeError(`plain\n${longError}`)!.endsWith('x cause'));
    assert.equal(lastRuntimeError(`plain\n${longError}`)!.length, RUNTIME_WORDS_MAX);
  });
});

describe('runtimeStateExists: what the runtime holds, read from its root without running it', () => {
  test('runc and crun: the folder <root>/<id>; other runtimes: an entry beginning with the id', () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-unit-'));
    try {
      const args = ['--root', root];
      mkdirSync(join(root, 'held'));
      for (const runtime of ['runc', '/usr/sbin/crun']) {
        assert.equal(runtimeStateExists(runtime, args, 'held'), true, runtime);
        assert.equal(runtimeStateExists(runtime, args, 'other'), false, runtime);
      }
      const wrapper = '/opt/wrapped-runtime';
      assert.equal(runtimeStateExists(wrapper, args, 'other'), false);
      assert.equal(runtimeStateExists(wrapper, args, 'held'), undefined);
      // runsc's layout: `<id>_sandbox:...` files, no folder.
      mkdirSync(join(root, 'sandboxed_sandbox:sandboxed.state'));
      assert.equal(runtimeStateExists(wrapper, [`--root=${root}`], 'sandboxed'), undefined);
      assert.equal(runtimeStateExists(wrapper, ['--root', join(root, 'never-made')], 'x'), false);
      // No root of its own known: only the runtime can tell.
      assert.equal(runtimeStateExists('runc', [], 'held'), undefined);
      assert.equal(runtimeStateExists(wrapper, ['--debug'], 'held'), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
