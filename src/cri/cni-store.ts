/**
 * Each network attachment on disk, one JSON file per (container, interface),
 * so that a berthd killed at any instant and restarted can DEL what it ADDed
 * with the configuration it ADDed with (libcni's result cache does the same):
 * the record is written before the first plugin runs (`adding`, no result
 * yet) and completed after the last (`added`, with the result).
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrnoException, writeFileAtomic } from '../runtime/index.js';
import type { CniNetworkList } from './cni-config.js';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

export interface AttachmentRecord {
  containerId: string;
  ifName: string;
  netns: string;
  /** CNI_ARGS pairs. */
  args: Array<[string, string]>;
  /** runtimeConfig offered to plugins that declare the capability (portMappings, ...). */
  capabilityArgs: Record<string, unknown>;
  network: CniNetworkList;
  state: 'adding' | 'added';
  /** The last plugin's raw ADD result, once every plugin succeeded. */
  result?: unknown;
}

/** `@` is in neither a container id nor an interface name: the file name is unambiguous. */
function fileName(containerId: string, ifName: string): string {
  return `${containerId}@${ifName}.json`;
}

export class AttachmentStore {
  constructor(readonly dir: string) {}

  async save(record: AttachmentRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(
      join(this.dir, fileName(record.containerId, record.ifName)),
      JSON.stringify(record),
    );
  }

  async load(containerId: string, ifName: string): Promise<AttachmentRecord | undefined> {
    try {
      return JSON.parse(
        await readFile(join(this.dir, fileName(containerId, ifName)), 'utf8'),
      ) as AttachmentRecord;
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async remove(containerId: string, ifName: string): Promise<void> {
    try {
      await unlink(join(this.dir, fileName(containerId, ifName)));
    } catch (err) {
      if (!isErrnoException(err, 'ENOENT')) throw err;
    }
  }

  /** Every record, as a restarted berthd finds them. */
  async list(): Promise<AttachmentRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return [];
      throw err;
    }
    const records: AttachmentRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json') && n.includes('@')).sort()) {
      try {
        records.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as AttachmentRecord);
      } catch (err) {
        // Written atomically, so unreadable means removed meanwhile.
        if (!isErrnoException(err, 'ENOENT')) throw err;
      }
    }
    return records;
  }
}
