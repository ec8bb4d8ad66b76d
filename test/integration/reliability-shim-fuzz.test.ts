/**
 * The shim fed garbage, under AddressSanitizer and UBSan (shim/build/
 * berth-shim-asan): (a) its command line, from a seeded generator
 * (test/fuzz/shim-argv.ts) compared with a model of PROTOCOL.md's reading;
 * (b) its control FIFO, with a real running container (test/fuzz/
 * control-lines.ts); (c) its spawner mode's requests (test/fuzz/
 * spawner-requests.ts), each followed by a well-formed run that must answer. No input may crash it, make a sanitizer report, or leave
 * anything running; every refusal is one `error` line; the container must
 * not notice the garbage.
 *
 * BERTH_FUZZ_RUNS (command lines, default 400), BERTH_FUZZ_STORMS (control
 * storms, default 30) and BERTH_FUZZ_SEED set the amount and the seed
 * (npm run soak runs many more).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { KilledStatus, State, type ContainerProcess } from '../../src/index.js';
import { builtShimPath } from '../../src/runtime/shim/binary.js';
import { fakeRuntime, processesUnder, readUntil, sandbox, type Sandbox } from '../helpers/env.js';
import { argvCases, model, USAGE_ERRORS, type UsageError } from '../fuzz/shim-argv.js';
import { controlStorms, finalSize, resizeFlood } from '../fuzz/control-lines.js';
import { spawnerGarbage } from '../fuzz/spawner-requests.js';
import { isAlive, shimPidOf } from './reliability-helpers.js';

const asanShim = builtShimPath('berth-shim-asan');
const skip = existsSync(asanShim) ? false : `no ${asanShim}: build it with npm run build:shim-asan`;
const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 400);
const STORMS = Number(process.env.BERTH_FUZZ_STORMS ?? 30);
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20261129);
const PARALLEL = 4;

const box: Sandbox = sandbox();
const reports = join(box.base, 'sanitizer');
mkdirSync(reports);
const sanitizerEnv = {
  ASAN_OPTIONS: `log_path=${reports}/asan:detect_leaks=1:abort_on_error=0`,
  UBSAN_OPTIONS: `log_path=${reports}/ubsan:print_stacktrace=1`,
};
after(() => box.cleanup());

function sanitizerReports(): string[] {
  return readdirSync(reports).map(
    (name) => `${name}:\n${readFileSync(join(reports, name), 'utf8').slice(0, 4000)}`,
  );
}

// (a) The command line.

/**
 * Runs argv[0] with the raw bytes of `argv` (Node passes only text): perl
 * (part of every Debian system) reads them NUL-separated from a file and
 * execs, so the shim runs with exactly these bytes, as the process perl was.
 */
const EXEC_FROM_FILE =
  'local $/; open my $f, "<", $ARGV[0] or die "$!"; my @a = split /\\0/, <$f>, -1; exec { $a[0] } @a or die "exec: $!"';

interface ShimRun {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  ready: Buffer;
}

function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => stream.on('close', () => resolve(Buffer.concat(chunks))));
}

async function runShim(args: Buffer[], dir: string): Promise<ShimRun> {
  const argvFile = join(dir, '..', `${dir.split('/').pop()}.argv`);
  writeFileSync(
    argvFile,
    Buffer.concat(
      [Buffer.from(asanShim), ...args].flatMap((a, i) => (i ? [Buffer.from([0]), a] : [a])),
    ),
  );
  const child = spawn('perl', ['-e', EXEC_FROM_FILE, argvFile], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...sanitizerEnv },
  });
  const [stdout, stderr, ready] = [child.stdout!, child.stderr!, child.stdio[3] as Readable].map(
    collect,
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  rmSync(argvFile);
  return {
    pid: child.pid!,
    code,
    signal,
    stdout: await stdout!,
    stderr: await stderr!,
    ready: await ready!,
  };
}

/** An argument vector in a message: long ones cut short. */
function show(args: Buffer[]): string {
  const shown = args
    .slice(0, 24)
    .map((a) =>
      a.length > 60 ? `${a.toString('latin1', 0, 60)}...(${a.length} bytes)` : a.toString('latin1'),
    );
  if (args.length > 24) shown.push(`...(${args.length} arguments)`);
  return JSON.stringify(shown);
}

/** Checks one run against the model; returns what kind of run it was, or throws. */
function check(args: Buffer[], run: ShimRun, dir: string): string {
  const expected = model(args);
  const where = `argv ${show(args)}`;
  assert.equal(run.signal, null, `${where}: killed by ${run.signal}`);
  if (expected.version) {
    assert.equal(run.code, 0, `${where}: --version`);
    assert.match(run.stdout.toString(), /^berth-shim \S+ \((glibc|musl)\)\n$/, where);
    assert.equal(run.ready.length, 0, where);
    assert.deepEqual(readdirSync(dir), [], `${where}: --version touches nothing`);
    return 'version';
  }
  assert.equal(run.code, 1, `${where}: exit status`);
  const outputs: Record<number, Buffer> = { 1: run.stdout, 2: run.stderr, 3: run.ready };
  for (const fd of [1, 2, 3]) {
    if (fd !== expected.readyFd)
      assert.equal(
        outputs[fd]!.length,
        0,
        `${where}: fd ${fd} ${JSON.stringify(outputs[fd]!.toString('latin1'))}`,
      );
  }
  const line = outputs[expected.readyFd];
  let kind: string;
  if (line === undefined) {
    kind =
      expected.readyFd < 0
        ? 'no --ready-fd: no report'
        : 'report to a descriptor not open (or /dev/null): none seen';
  } else {
    const text = line.toString('latin1');
    assert.match(text, /^error [^\n]*\n$/, `${where}: one error line, got ${JSON.stringify(text)}`);
    const message = text.slice('error '.length, -1);
    const matching = (Object.keys(USAGE_ERRORS) as UsageError[]).filter((k) =>
      USAGE_ERRORS[k].test(message),
    );
    if (expected.error) {
      assert.ok(
        matching.includes(expected.error),
        `${where}: expected ${expected.error}, got ${message}`,
      );
      kind = `refused: ${expected.error}`;
    } else {
      assert.deepEqual(
        matching,
        [],
        `${where}: a valid command line refused as malformed: ${message}`,
      );
      if (/ failed \(exit status 3\)$/.test(message)) {
        kind = 'ran the runtime (refused)';
      } else {
        // Whatever the path or name in it, the cause is never cut off.
        const cause = /: ([^:]+)$/.exec(message)?.[1] ?? '';
        assert.match(cause, /^[A-Z][a-z][A-Za-z ,']*$/, `${where}: no cause in ${message}`);
        kind = `valid, failed before the runtime: ${message.split(' ')[0]} ...: ${cause}`;
      }
    }
  }
  const files = readdirSync(dir);
  for (const transient of ['console.sock', '.exitStatus.tmp', '.starttime.tmp'])
    assert.ok(!files.includes(transient), `${where}: ${transient} left`);
  if (files.includes('shim-log.json')) {
    for (const entry of readFileSync(join(dir, 'shim-log.json'), 'utf8')
      .split('\n')
      .filter(Boolean)) {
      const parsed = JSON.parse(entry) as Record<string, unknown>;
      assert.ok(
        typeof parsed.msg === 'string' &&
          typeof parsed.time === 'string' &&
          ['info', 'warn', 'error'].includes(parsed.level as string),
        `${where}: log line ${entry}`,
      );
    }
  }
  assert.deepEqual(processesUnder(dir), [], `${where}: processes left`);
  return kind;
}

describe('(a) the command line', () => {
  test(
    `${RUNS} generated argument vectors (seed ${SEED}): exit 1 and one error line, never a crash or a sanitizer report`,
    { skip },
    async () => {
      const cases = fc.sample(argvCases(fakeRuntime('refusing-runtime')), {
        seed: SEED,
        numRuns: RUNS,
      });
      const work = mkdtempSync(join(box.base, 'argv-'));
      const kinds = new Map<string, number>();
      const failures: string[] = [];
      const began = Date.now();
      let next = 0;
      const worker = async () => {
        while (next < cases.length) {
          const index = next++;
          const { args } = cases[index]!;
          const dir = join(work, String(index));
          mkdirSync(dir);
          const run = await runShim(args, dir);
          try {
            const kind = check(args, run, dir);
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
          } catch (err) {
            failures.push(`#${index}: ${(err as Error).message}`);
          }
          const reported = readdirSync(reports).filter((name) => name.endsWith(`.${run.pid}`));
          if (reported.length)
            failures.push(`#${index} ${show(args)}: sanitizer report ${reported.join(' ')}`);
          rmSync(dir, { recursive: true, force: true });
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      const ms = Date.now() - began;
      console.log(`# shim argv fuzz: ${cases.length} inputs, seed ${SEED}, ${ms} ms`);
      for (const [kind, count] of [...kinds].sort((x, y) => y[1] - x[1]))
        console.log(`#   ${count} ${kind}`);
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${cases.length} failed`);
      assert.deepEqual(sanitizerReports(), [], 'sanitizer reports');
      // The generator must reach both sides: refusals of each kind, and command lines that run.
      assert.ok(
        (kinds.get('ran the runtime (refused)') ?? 0) > 0,
        'no valid command line generated',
      );
      assert.ok(
        [...kinds.keys()].filter((k) => k.startsWith('refused:')).length >= 8,
        'too few kinds of refusal',
      );
    },
  );
});

// (b) The control FIFO.

/** Writes `data` into the control FIFO in writes of the given sizes, waiting while it is full. */
async function writeFifo(
  fd: number,
  data: Buffer,
  cuts: readonly number[] = [65536],
): Promise<void> {
  const deadline = Date.now() + 30_000;
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const end = Math.min(data.length, offset + cuts[i % cuts.length]!);
    while (offset < end) {
      try {
        offset += writeSync(fd, data, offset, end - offset);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        assert.notEqual(code, 'EPIPE', 'the shim is gone (its process exited?)');
        if (code !== 'EAGAIN') throw err;
        assert.ok(Date.now() < deadline, 'the shim stopped reading its control FIFO');
        await sleep(1);
      }
    }
    if (i % 7 === 3) await sleep(1);
  }
}

/**
 * Returns once the shim has read and handled everything written before: a
 * full pipe's worth of empty lines goes in whole only into an empty FIFO,
 * and the shim handles what it read before it reads again. Twice, so that the
 * last write of real lines is handled too.
 */
async function drained(fd: number): Promise<void> {
  const probe = Buffer.alloc(65536, '\n');
  const deadline = Date.now() + 30_000;
  for (let round = 0; round < 2;) {
    let written = 0;
    try {
      written = writeSync(fd, probe);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      assert.notEqual(code, 'EPIPE', 'the shim is gone (its process exited?)');
      if (code !== 'EAGAIN') throw err;
    }
    if (written === probe.length) round++;
    else {
      assert.ok(Date.now() < deadline, 'the control FIFO was never drained');
      await sleep(2);
    }
  }
}

/** The size of the terminal of `pid` as the kernel holds it (busybox's stty shows 24x80 past 30000). */
function terminalSize(pid: number): string {
  const [rows, columns] = execFileSync('stty', ['-F', `/proc/${pid}/fd/0`, 'size'], {
    encoding: 'utf8',
  })
    .trim()
    .split(' ');
  return `${columns}x${rows}`;
}

/** Asks the terminal process for its size (it runs `stty size` for each line of input). */
async function sizeOf(proc: ContainerProcess): Promise<string> {
  proc.stdin!.write('size?\n');
  // One line out per line in: nothing else is on the stream.
  const [, rows, columns] = await readUntil(proc.stdout!, /(\d+) (\d+)\r?\n/);
  return `${columns}x${rows}`;
}

describe('(b) the control FIFO of a running container', () => {
  test(
    `${STORMS} storms of garbage and thousands of resizes: nothing crashes, the container does not notice`,
    { skip },
    async () => {
      Object.assign(process.env, sanitizerEnv);
      try {
        const tty = await box.create(
          {
            args: ['sh', '-c', 'stty -echo; while read line; do stty size; done; exit 7'],
            terminal: true,
          },
          { shim: asanShim },
        );
        const plain = await box.create({ args: ['sh', '-c', 'cat; exit 7'] }, { shim: asanShim });
        const ttyInit = await tty.run({ stdio: { stdin: 'pipe', stdout: 'pipe' } });
        const plainInit = await plain.run({ stdio: { stdin: 'pipe', stdout: 'pipe' } });
        const shims = [shimPidOf(ttyInit), shimPidOf(plainInit)];
        const control = [ttyInit, plainInit].map((p) =>
          openSync(join(p.dir, 'control'), constants.O_WRONLY | constants.O_NONBLOCK),
        );
        const storms = fc.sample(controlStorms(), { seed: SEED, numRuns: STORMS });
        let bytes = 0;
        let lines = 0;
        const began = Date.now();
        try {
          for (const [i, storm] of storms.entries()) {
            for (const fd of control) await writeFifo(fd, storm.stream, storm.cuts);
            for (const fd of control) await drained(fd);
            for (const p of [ttyInit, plainInit])
              assert.equal(p.state(), State.Running, `storm ${i}: ${p.id} still runs`);
            const expected = finalSize(storm.stream)!;
            assert.equal(
              terminalSize(ttyInit.systemPid),
              `${expected.width}x${expected.height}`,
              `storm ${i}`,
            );
            bytes += storm.stream.length;
            lines += storm.stream.toString('latin1').split('\n').length - 1;
          }
          const flood = resizeFlood(5000, { width: 101, height: 31 });
          for (const fd of control) await writeFifo(fd, flood, [4096]);
          for (const fd of control) await drained(fd);
          assert.equal(await sizeOf(ttyInit), '101x31', 'after 5000 resizes');
          console.log(
            `# control fuzz: ${storms.length} storms (${lines} lines, ${bytes} bytes) and 5000 resizes to each of 2 shims, seed ${SEED}, ${Date.now() - began} ms`,
          );
        } finally {
          for (const fd of control) closeSync(fd);
        }

        assert.deepEqual(
          shims.filter((pid) => !isAlive(pid)),
          [],
          'shims alive',
        );
        assert.deepEqual(
          [ttyInit, plainInit].filter((p) => !isAlive(p.systemPid)),
          [],
          'processes alive',
        );
        // A valid resize and closeStdin still work; the statuses are right.
        await ttyInit.resize(90, 30);
        const ttyControl = openSync(
          join(ttyInit.dir, 'control'),
          constants.O_WRONLY | constants.O_NONBLOCK,
        );
        await drained(ttyControl);
        closeSync(ttyControl);
        assert.equal(await sizeOf(ttyInit), '90x30');
        plainInit.stdin!.write('still open\n');
        await readUntil(plainInit.stdout!, /still open\n/);
        await plainInit.closeStdin();
        assert.equal(await plainInit.wait(), 7);
        await ttyInit.signal('SIGKILL');
        assert.equal(await ttyInit.wait(), KilledStatus);
        await tty.delete();
        await plain.delete();
        assert.deepEqual(sanitizerReports(), [], 'sanitizer reports');
      } finally {
        for (const key of Object.keys(sanitizerEnv)) delete process.env[key];
      }
    },
  );
});

describe('(c) the spawner', () => {
  test(
    `${RUNS} garbage requests, each followed by a run that must answer whole`,
    { skip },
    async () => {
      const spawner = spawn(asanShim, ['--spawner'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...sanitizerEnv },
      });
      const stdout = collect(spawner.stdout!);
      const stderr = collect(spawner.stderr!);
      const exited = new Promise<number | null>((resolve) => spawner.on('exit', resolve));
      const garbage = fc.sample(spawnerGarbage(), { seed: SEED, numRuns: RUNS });
      // IDs no garbage field is likely to name (a garbage `kill` must not hit them).
      const validId = (i: number) => 7_000_000_000_000 + i;
      const began = Date.now();
      let bytes = 0;
      for (const [i, request] of garbage.entries()) {
        bytes += request.length;
        spawner.stdin!.write(request);
        spawner.stdin!.write(`run\0${validId(i)}\0/\0=in-${i}\0/bin/cat\0\0`);
      }
      spawner.stdin!.end();
      const timer = setTimeout(() => spawner.kill('SIGKILL'), 120_000);
      const code = await exited;
      clearTimeout(timer);
      assert.equal(
        code,
        0,
        `spawner exit status; stderr: ${(await stderr).toString().slice(0, 2000)}`,
      );

      // Its answers: lines, a run's output after its `exited` line.
      const answers = new Map<number, { code: string; stdout: string }>();
      const out = await stdout;
      for (let at = 0; at < out.length;) {
        const newline = out.indexOf(10, at);
        assert.ok(newline >= 0, 'answers end with a whole line');
        const line = out.toString('latin1', at, newline);
        at = newline + 1;
        const m = /^(\d+) exited (-?\d+) (\d+) (\d+) (\d+)$/.exec(line);
        if (!m) {
          assert.match(line, /^\d+ (spawned \d+|error .*)$/, 'a known answer');
          continue;
        }
        const [outLength, errLength] = [Number(m[4]), Number(m[5])];
        answers.set(Number(m[1]), {
          code: `${m[2]} ${m[3]}`,
          stdout: out.toString('latin1', at, at + outLength),
        });
        at += outLength + errLength;
      }
      const wrong = garbage
        .map((_, i) => [i, answers.get(validId(i))] as const)
        .filter(([i, a]) => a?.code !== '0 0' || a.stdout !== `in-${i}`)
        .map(
          ([i, a]) =>
            `${i}: ${JSON.stringify(a)} after ${JSON.stringify(garbage[i]!.toString('latin1').slice(0, 200))}`,
        );
      assert.deepEqual(wrong, [], 'every well-formed run answered whole');
      console.log(
        `# spawner fuzz: ${garbage.length} garbage requests (${bytes} bytes) and as many runs, seed ${SEED}, ${Date.now() - began} ms`,
      );
      assert.deepEqual(sanitizerReports(), [], 'sanitizer reports');
    },
  );
});
