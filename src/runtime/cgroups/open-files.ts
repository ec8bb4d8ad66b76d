/**
 * A CgroupFileReader for repeated stats of one container: each cgroup file is
 * opened once and re-read from offset 0 (a cgroup file is a seq_file: a read
 * at 0 regenerates it), and a file found missing is not looked for again.
 * That is about 1 µs a file instead of about 9 for open+read+close. A cgroup
 * removed while its files are open reads as ENODEV: gone.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { CgroupNotFoundError } from './errors.js';
import type { CgroupFileReader } from './parse.js';
import { readSeqFile } from './seq-file.js';

const ABSENT = -1;

export class OpenCgroupFiles implements Disposable {
  readonly #fds = new Map<string, number>();

  readonly read: CgroupFileReader = (dir, file) => {
    const path = `${dir}/${file}`;
    let fd = this.#fds.get(path);
    if (fd === undefined) {
      fd = this.#open(dir, path);
      this.#fds.set(path, fd);
    }
    if (fd === ABSENT) return undefined;
    return this.#readAll(dir, fd);
  };

  #open(dir: string, path: string): number {
    try {
      return openSync(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        if (!existsSync(dir)) throw new CgroupNotFoundError(dir, undefined, { cause: err });
        return ABSENT;
      }
      if (code === 'ENODEV') throw new CgroupNotFoundError(dir, undefined, { cause: err });
      throw err;
    }
  }

  #readAll(dir: string, fd: number): string {
    try {
      // The shared buffer of readSeqFile: one of its own would cost each container 16 kB.
      return readSeqFile(fd, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENODEV')
        throw new CgroupNotFoundError(dir, undefined, { cause: err });
      throw err;
    }
  }

  close(): void {
    for (const fd of this.#fds.values()) if (fd !== ABSENT) closeSync(fd);
    this.#fds.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
