/**
 * The shim under AddressSanitizer (and UBSan): a run of the main paths with the
 * instrumented build, then no sanitizer report may exist.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError } from '../../src/index.js';
import { builtShimPath } from '../../src/runtime/shim/binary.js';
import { fakeRuntime, readAll, sandbox, type Sandbox } from '../helpers/env.js';

const asanShim = builtShimPath('berth-shim-asan');
const skipReason = existsSync(asanShim)
  ? false
  : `no ${asanShim}: build it with \`npm run build:shim-asan\``;
if (skipReason) console.log(`# skipping the AddressSanitizer test: ${skipReason}`);

let box: Sandbox;
let reports: string;
before(() => {
  box = sandbox();
  reports = join(box.base, 'asan');
  mkdirSync(reports);
  process.env.ASAN_OPTIONS = `log_path=${reports}/report:detect_leaks=1:abort_on_error=0`;
  process.env.UBSAN_OPTIONS = `log_path=${reports}/ubsan:print_stacktrace=1`;
});
after(async () => {
  delete process.env.ASAN_OPTIONS;
  delete process.env.UBSAN_OPTIONS;
  await box.cleanup();
});

test('the shim runs clean under AddressSanitizer', { skip: skipReason }, async () => {
  const container = await box.create(
    { args: ['sh', '-c', 'cat; echo out; echo err >&2; exit 3'] },
    { shim: asanShim },
  );
  const init = await container.start({ stdio: { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' } });
  const [out, err] = [readAll(init.stdout), readAll(init.stderr)];
  await init.start();
  init.stdin!.end('in\n');
  assert.equal(await init.wait(), 3);
  assert.equal(await out, 'in\nout\n');
  assert.equal(await err, 'err\n');
  await container.delete();

  const tty = await box.create({ args: ['sleep', '100'] }, { shim: asanShim });
  const ttyInit = await tty.start();
  await ttyInit.start();
  const shell = await tty.exec(
    'sh',
    { args: ['sh', '-c', 'read x; stty size'], terminal: true },
    { stdio: { stdin: 'pipe', stdout: 'pipe' } },
  );
  const shellOut = readAll(shell.stdout);
  await shell.resize(90, 30);
  shell.stdin!.write('go\n');
  assert.equal(await shell.wait(), 0);
  assert.match(await shellOut, /30 90/);
  await tty.delete({ force: true });

  // A runtime's words on stderr only, more than the shim keeps: kept, cut and reported.
  process.env.BERTH_FAIL_LINES = '400';
  try {
    const refused = await box.create(
      { args: ['sleep', '100'] },
      { shim: asanShim, runtime: fakeRuntime('muttering-runtime') },
    );
    for (const stderr of [undefined, 'pipe'] as const) {
      await assert.rejects(
        refused.run({ stdio: { stderr } }),
        (e: unknown) => e instanceof RuntimeError && /boom 400 of 400/.test(e.message),
      );
    }
    await refused.delete();
  } finally {
    delete process.env.BERTH_FAIL_LINES;
  }

  // Output nobody reads, discarded by a forced delete.
  const chatty = await box.create({ args: ['yes'] }, { shim: asanShim });
  await chatty.run({ stdio: { stdout: 'pipe' } });
  await sleep(200);
  await chatty.delete({ force: true });

  const found = readdirSync(reports).map(
    (name) => `${name}:\n${readFileSync(join(reports, name), 'utf8')}`,
  );
  assert.deepEqual(found, [], 'sanitizer reports');
});
