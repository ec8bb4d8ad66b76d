/**
 * CRI log records: format, full and partial lines (cut at the bound, the
 * unterminated end), CRLF, both streams in one file, reopen after a rename
 * under a steady writer (nothing lost, nothing split), and bad input refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tempDir } from '../../support/busybox.js';
import { CriLogWriter, formatTimestamp, LineCutter } from '../../src/cri/logs.js';
import { joinLines, parseCriLog } from '../helpers/cri-log.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('timestamps: RFC 3339, UTC, nine digits', () => {
  assert.equal(formatTimestamp(1_700_000_000_000_000_007n), '2023-11-14T22:13:20.000000007Z');
  assert.equal(formatTimestamp(1_700_000_000_123_456_789n), '2023-11-14T22:13:20.123456789Z');
});

test('the cutter: F at newlines, P at the bound and at EOF, CR dropped before LF', () => {
  const clock = () => 1_700_000_000_000_000_000n;
  const cutter = new LineCutter('stdout', 8, clock);
  const text = (records: Buffer[]) => records.map((r) => r.toString().slice(38)).join('');
  assert.equal(text(cutter.push(Buffer.from('ab'))), '');
  assert.equal(text(cutter.push(Buffer.from('c\n\nexactly8\r\n'))), 'F abc\nF \nF exactly8\n');
  assert.equal(
    text(cutter.push(Buffer.from('0123456789abcdefXYZ\n'))),
    'P 01234567\nP 89abcdef\nF XYZ\n',
  );
  assert.equal(text(cutter.push(Buffer.from('12345678'))), '');
  assert.equal(text(cutter.push(Buffer.from('9'))), 'P 12345678\n');
  assert.equal(text(cutter.end()), 'P 9\n');
  // A CR right past the bound: kept for the LF that may follow, cut when none does.
  assert.equal(text(cutter.push(Buffer.from('abcdefgh\r'))), '');
  assert.equal(text(cutter.push(Buffer.from('\nabcdefgh\r'))), 'F abcdefgh\n');
  assert.equal(text(cutter.push(Buffer.from('z'))), 'P abcdefgh\n');
  assert.equal(text(cutter.push(Buffer.from('12345678\r'))), 'P \rz123456\n');
  assert.equal(text(cutter.end()), 'P 78\r\n');
  assert.equal(text(cutter.push(Buffer.from('abcdefgh\r'))), '');
  assert.equal(text(cutter.end()), 'P abcdefgh\nP \r\n');
  assert.equal(text(cutter.end()), '');
  assert.equal(
    cutter.push(Buffer.from('x\n'))[0]!.toString(),
    '2023-11-14T22:13:20.000000000Z stdout F x\n',
  );
});

test('both streams in one file, each record whole, lines as written', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'c.log');
    const log = await CriLogWriter.open(path, { maxLineBytes: 16 * 1024 });
    const long = 'L'.repeat(40_000);
    await Promise.all([
      log.copy(
        Readable.from([
          Buffer.from('out 1\nout'),
          Buffer.from(' 2\n'),
          Buffer.from(`${long}\nno newline`),
        ]),
        'stdout',
      ),
      log.copy(Readable.from([Buffer.from('err 1\r\nerr 2\n')]), 'stderr'),
    ]);
    await log.close();
    const records = parseCriLog(readFileSync(path, 'utf8'));
    assert.deepEqual(joinLines(records, 'stdout'), ['out 1', 'out 2', long, 'no newline']);
    assert.deepEqual(joinLines(records, 'stderr'), ['err 1', 'err 2']);
    const longRecords = records.filter((r) => r.content.startsWith('L'));
    assert.deepEqual(
      longRecords.map((r) => [r.tag, r.content.length]),
      [
        ['P', 16384],
        ['P', 16384],
        ['F', 40_000 - 2 * 16384],
      ],
    );
    assert.equal(records.find((r) => r.content === 'no newline')?.tag, 'P');
  });
});

test('reopen after a rename: every line once, in order, none split across the files', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'c.log');
    const log = await CriLogWriter.open(path);
    const stdout = log.stream('stdout');
    const total = 3000;
    const rotations: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      // Lines cut across writes at odd places, as a pipe delivers them.
      const line = `line ${i} ${'x'.repeat(i % 97)}\n`;
      const cut = i % 7;
      await new Promise<void>((resolve, reject) =>
        stdout.write(line.slice(0, cut), (err) => (err ? reject(err) : resolve())),
      );
      stdout.write(line.slice(cut));
      if (i === 1000 || i === 2000) {
        renameSync(path, `${path}.${i}`);
        rotations.push(log.reopen());
      }
    }
    await new Promise<void>((resolve) => stdout.end(resolve));
    await Promise.all(rotations);
    await log.close();
    const files = [`${path}.1000`, `${path}.2000`, path];
    const lines: string[] = [];
    for (const file of files) {
      const records = parseCriLog(readFileSync(file, 'utf8'));
      assert.ok(records.length > 0, `${file} has records`);
      assert.ok(
        records.every((r) => r.tag === 'F'),
        `${file}: no line split`,
      );
      lines.push(...joinLines(records, 'stdout'));
    }
    assert.deepEqual(
      lines,
      Array.from({ length: total }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`),
    );
  });
});

test('bad input: typed errors, nothing created; a closed log refuses writes', async () => {
  await withDir(async (dir) => {
    await assert.rejects(CriLogWriter.open('relative.log'), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(CriLogWriter.open(join(dir, 'a.log'), { maxLineBytes: 0 }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.equal(existsSync(join(dir, 'a.log')), false);
    const log = await CriLogWriter.open(join(dir, 'b.log'));
    await log.close();
    await assert.rejects(log.reopen(), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(log.copy(Readable.from([Buffer.from('late\n')]), 'stdout'), {
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});
