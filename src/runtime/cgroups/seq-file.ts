/**
 * Reading a cgroup file whole. A cgroup file is a seq_file: one read returns
 * all of it that fits, so a short read is the end (saving the read that would
 * return 0); read again from offset 0, it is generated afresh.
 */
import { readSync } from 'node:fs';

// One buffer for every read: the reads are synchronous and their text is
// copied out at once, so nothing else can use it meanwhile.
let buffer = Buffer.allocUnsafe(16 * 1024);

/** The file's content from `position` (null: the descriptor's own offset) to its end. */
export function readSeqFile(fd: number, position: number | null): string {
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const room = buffer.length - length;
    const count = readSync(fd, buffer, length, room, position === null ? null : position + length);
    length += count;
    if (count < room) break;
  }
  return buffer.toString('latin1', 0, length);
}
