/**
 * Output still in flight when the process exits: a slow reader gets all of it;
 * a reader that stops reading loses the rest, and the shim says so.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { builtShimPath } from '../../src/runtime/shim/binary.js';
import { readAll, runtimeIds, sandbox, uniqueId, type Sandbox } from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

const shimPath = builtShimPath();

/** Takes one chunk every `intervalMs` from a paused stream until it ends; returns the byte count. */
async function readSlowly(stream: Readable, intervalMs: number): Promise<number> {
  let ended = false;
  stream.once('end', () => (ended = true));
  let total = 0;
  let nonZero = 0;
  while (!ended) {
    await sleep(intervalMs);
    const chunk = stream.read() as Buffer | null;
    if (!chunk) continue;
    total += chunk.length;
    for (const byte of chunk) if (byte !== 0) nonZero++;
  }
  assert.equal(nonZero, 0, 'every byte is the one written');
  return total;
}

/** Reads what a FIFO holds without blocking (its writers are gone, or it is empty for now). */
function drainFifo(fd: number): number {
  const buffer = Buffer.alloc(65536);
  let total = 0;
  for (;;) {
    let count: number;
    try {
      count = readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return total;
      throw err;
    }
    if (count === 0) return total;
    total += count;
  }
}

test(
  'a slow reader of a piped stdout gets every byte written before the exit',
  { timeout: 120_000 },
  async () => {
    const total = 1_000_000;
    const container = await box.create({ args: ['head', '-c', String(total), '/dev/zero'] });
    const init = await container.run({ stdio: { stdout: 'pipe' } });
    const received = await readSlowly(init.stdout!, 300);
    assert.equal(received, total);
    assert.equal(await init.wait(), 0);
    await container.delete();
  },
);

test(
  'a reader that accepts nothing: after --drain-timeout the rest is discarded, "lost" comes before "exit"',
  { timeout: 60_000 },
  async () => {
    // The library does not pass --drain-timeout: run the shim as it would, with a short one.
    const total = 100_000; // less than the FIFO, the shim's buffer and the pipe hold: the process exits
    const id = uniqueId('drain');
    const dir = join(box.root, id, 'init');
    mkdirSync(dir, { recursive: true });
    const stdoutFifo = join(box.base, `${id}.stdout`);
    const exitFifo = join(dir, 'exit');
    execFileSync('mkfifo', [stdoutFifo, exitFifo]);
    // A reader that opens the FIFO and never reads.
    const stdoutFd = openSync(stdoutFifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const events = new Socket({
      fd: openSync(exitFifo, constants.O_RDONLY | constants.O_NONBLOCK),
      readable: true,
      writable: false,
    });
    try {
      const eventText = readAll(events);
      const bundle = box.bundle({ args: ['head', '-c', String(total), '/dev/zero'] });
      const shim = spawn(
        shimPath,
        [
          '--mode=run',
          `--stdout=${stdoutFifo}`,
          '--drain-timeout=500',
          '--runtime-arg=--root',
          `--runtime-arg=${join(box.root, '.runtime', 'runc')}`,
          '--ready-fd=3',
          id,
          bundle,
          'runc',
        ],
        { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] },
      );
      const shimExit = once(shim, 'exit');
      assert.match(await readAll(shim.stdio[3] as Readable), /^ok \d+\n$/);
      const reported = Date.now();

      assert.equal(await eventText, 'lost stdout\nexit 0\ndeleted\n');
      assert.ok(Date.now() - reported >= 400, 'the reader was given the drain timeout');
      assert.deepEqual(await shimExit, [0, null]);
      assert.equal(readFileSync(join(dir, 'exitStatus'), 'utf8'), '0');
      assert.ok(!runtimeIds(box.root).includes(id), 'the shim ran the runtime delete');

      const warnings = readFileSync(join(dir, 'shim-log.json'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: string; msg: string })
        .filter((entry) => entry.level === 'warn');
      const lost = warnings
        .map((entry) => /^stdout: .* (\d+) bytes discarded/.exec(entry.msg))
        .find(Boolean);
      assert.ok(lost, `a warning names the stream and the bytes: ${JSON.stringify(warnings)}`);
      const discarded = Number(lost[1]);
      assert.ok(discarded > 0);
      // What the FIFO accepted is still there for a reader: nothing else is unaccounted for.
      assert.equal(drainFifo(stdoutFd) + discarded, total);
    } finally {
      events.destroy();
      closeSync(stdoutFd);
      rmSync(join(box.root, id), { recursive: true, force: true });
    }
  },
);

test(
  'an exec that leaves a child writing for ever: its own output, then its exit within seconds',
  { timeout: 60_000 },
  async () => {
    const container = await box.create({ args: ['sleep', '100'] });
    const init = await container.start();
    await init.start();
    // The child keeps the exec's stdout open and never pauses 200 ms: only the
    // leftover limit can end the drain.
    const exec = await container.exec(
      'leftover',
      {
        args: [
          'sh',
          '-c',
          'head -c 50000 /dev/zero | tr "\\0" o; echo; (while :; do echo leftover; usleep 20000; done) & exit 5',
        ],
      },
      { stdio: { stdout: 'pipe' } },
    );
    let text = '';
    exec.stdout!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const began = Date.now();
    const status = await Promise.race([exec.wait(), sleep(15_000, 'no exit after 15 s')]);
    assert.equal(status, 5);
    assert.ok(Date.now() - began < 6_000, `exit reported after ${Date.now() - began} ms`);
    assert.equal(text.split('\n')[0], 'o'.repeat(50_000), 'its own output, whole and first');
    await container.delete({ force: true });
  },
);
