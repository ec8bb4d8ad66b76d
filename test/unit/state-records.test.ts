/** Records on disk read back, or refused with a typed error naming the file. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerNotFoundError, CorruptStateError } from '../../src/runtime/errors.js';
import { processFiles, runtimeStateDir } from '../../src/runtime/state/layout.js';
import {
  readContainerRecord,
  readExitStatus,
  readProcessState,
  writeContainerRecord,
  type ContainerRecord,
} from '../../src/runtime/state/records.js';

const base = mkdtempSync(join(tmpdir(), 'berth-unit-'));
after(() => rmSync(base, { recursive: true, force: true }));

const record: ContainerRecord = {
  bundle: '/b',
  labels: ['a=b'],
  stdin: '/dev/null',
  stdout: '/dev/null',
  stderr: '/dev/null',
  runtime: 'runc',
  runtimeArgs: [],
  shim: '/s',
  noPivotRoot: false,
};

test('state.json: written atomically, read back; missing', async () => {
  const dir = join(base, 'c1');
  mkdirSync(dir);
  assert.throws(() => readContainerRecord(dir, 'c1'), ContainerNotFoundError);
  await writeContainerRecord(dir, record);
  assert.deepEqual(readContainerRecord(dir, 'c1'), record);
});

// Empty, torn and foreign ones.
const corruptRecords: [string, string][] = [
  ['empty', ''],
  ['torn', '{"bundle":"/b","run'],
  ['not an object', '[1,2]'],
  ['foreign', '{"bundle":3,"runtime":"r","shim":"s"}'],
];
for (const [what, text] of corruptRecords) {
  test(`state.json ${what}: CorruptStateError naming the file`, async () => {
    const dir = join(base, `c1-${what.replace(/ /g, '-')}`);
    mkdirSync(dir);
    await writeContainerRecord(dir, record);
    writeFileSync(join(dir, 'state.json'), text);
    assert.throws(
      () => readContainerRecord(dir, 'c1'),
      (err: unknown) =>
        err instanceof CorruptStateError &&
        err.code === 'ERR_CORRUPT_STATE' &&
        err.path === join(dir, 'state.json'),
      JSON.stringify(text),
    );
  });
}

test('process.json: absent is "no process", torn is CorruptStateError; exitStatus read as a number', () => {
  const files = processFiles(join(base, 'c2', 'init'));
  mkdirSync(files.dir, { recursive: true });
  assert.equal(readProcessState(files), undefined);
  writeFileSync(files.process, '{"args":["sh"],"exec":');
  assert.throws(() => readProcessState(files), CorruptStateError);
  writeFileSync(files.process, '{"args":["sh"],"exec":false}');
  assert.equal(readProcessState(files)?.containerdStdin, '');
  assert.equal(readExitStatus(files), undefined);
  writeFileSync(files.exitStatus, '137');
  assert.equal(readExitStatus(files), 137);
});

test("each state root has its own runtime state folder, named after the runtime's file name", () => {
  assert.equal(runtimeStateDir('/run/berth', 'runc'), '/run/berth/.runtime/runc');
  assert.equal(runtimeStateDir('/x', '/usr/local/bin/crun'), '/x/.runtime/crun');
});
