/**
 * A real container's stdout and stderr (busybox on runc, through the shim's
 * pipes) written as a CRI log: every line, the right stream, the
 * unterminated end as P, and a rotation losing nothing.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { CriLogWriter } from '../../src/cri/logs.js';
import { sandbox } from '../helpers/env.js';
import { joinLines, parseCriLog } from '../helpers/cri-log.js';

const box = sandbox();
after(() => box.cleanup());

test('a container’s output as a CRI log, rotated between its lines', async () => {
  const path = join(box.base, 'container.log');
  const log = await CriLogWriter.open(path);
  const container = await box.create({
    args: [
      'sh',
      '-c',
      'echo out; echo err >&2; read go; i=0; while [ $i -lt 2000 ]; do echo "n $i"; i=$((i+1)); done; printf tail',
    ],
  });
  const init = await container.start({ stdio: { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' } });
  const copied = Promise.all([log.copy(init.stdout!, 'stdout'), log.copy(init.stderr!, 'stderr')]);
  await init.start();
  // Rotate between the first lines and the loop, then again in the loop's midst.
  for (let waited = 0; !readFileSync(path, 'utf8').includes(' stderr F err\n'); waited++) {
    assert.ok(waited < 200, 'the first lines reach the log');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  renameSync(path, `${path}.1`);
  await log.reopen();
  init.stdin!.end('go\n');
  assert.equal(await init.wait(), 0);
  await copied;
  await log.close();
  await container.delete();

  const first = parseCriLog(readFileSync(`${path}.1`, 'utf8'));
  const second = parseCriLog(readFileSync(path, 'utf8'));
  assert.deepEqual(joinLines(first, 'stdout'), ['out']);
  assert.deepEqual(joinLines(first, 'stderr'), ['err']);
  assert.deepEqual(joinLines(second, 'stdout'), [
    ...Array.from({ length: 2000 }, (_, i) => `n ${i}`),
    'tail',
  ]);
  assert.equal(second.at(-1)?.tag, 'P', 'the unterminated end is a partial record');
  assert.ok(second.slice(0, -1).every((r) => r.tag === 'F'));
});
