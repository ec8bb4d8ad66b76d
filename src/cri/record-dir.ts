/**
 * A folder of JSON records named by their 64-hex ids, each written
 * atomically: the CRI's pods and containers are kept this way, so that a
 * berthd killed at any point finds every record whole or absent.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrnoException, validateId, writeFileAtomicAsync } from '../runtime/index.js';

const RECORD_NAME = /^[0-9a-f]{64}\.json$/;

export class RecordDir<R extends { id: string }> {
  /**
   * `what` names the ids in errors ("pod sandbox id"); `mode` is the folder's
   * (a pod's folder is searched by containers, a container's is berthd's own).
   */
  constructor(
    readonly dir: string,
    private readonly what: string,
    private readonly mode: number,
  ) {}

  path(id: string): string {
    return join(this.dir, `${validateId(this.what, id)}.json`);
  }

  async save(record: R): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: this.mode });
    await writeFileAtomicAsync(this.path(record.id), JSON.stringify(record, null, 2));
  }

  async load(id: string): Promise<R | undefined> {
    try {
      return JSON.parse(await readFile(this.path(id), 'utf8')) as R;
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }

  /** Every record; one unreadable (a torn disk) is skipped rather than hiding all the others. */
  async list(): Promise<R[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return [];
      throw err;
    }
    const records: R[] = [];
    for (const name of names) {
      if (!RECORD_NAME.test(name)) continue;
      const record = await this.load(name.slice(0, -'.json'.length)).catch(() => undefined);
      if (record) records.push(record);
    }
    return records;
  }
}
