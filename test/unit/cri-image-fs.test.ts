/** ImageFsInfo's figures: a store's bytes and inodes, hard links once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeUsage } from '../../src/cri/image-fs.js';

test('storeUsage: every inode once (hard links too), bytes from blocks; an aborted walk stops', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-image-fs-'));
  try {
    const empty = await storeUsage(root);
    assert.equal(empty.inodesUsed, 1n, 'the root itself');
    mkdirSync(join(root, 'layers', 'a'), { recursive: true });
    writeFileSync(join(root, 'layers', 'a', 'big'), Buffer.alloc(1024 * 1024, 1));
    linkSync(join(root, 'layers', 'a', 'big'), join(root, 'layers', 'big-link'));
    symlinkSync('a/big', join(root, 'layers', 'sym'));
    const usage = await storeUsage(root);
    // root, layers, layers/a, big (and its hard link), sym.
    assert.equal(usage.inodesUsed, 5n);
    assert.ok(usage.usedBytes >= 1024n * 1024n, String(usage.usedBytes));
    assert.ok(usage.usedBytes < 2n * 1024n * 1024n, 'the hard link is not counted twice');
    await assert.rejects(storeUsage(root, AbortSignal.abort()), { name: 'AbortError' });
    await assert.rejects(storeUsage(join(root, 'absent')), { code: 'ENOENT' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
