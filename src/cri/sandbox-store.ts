/**
 * The pod sandboxes' records on disk, one `<dir>/<id>.json` each, written
 * atomically: what a restarted berthd knows of every pod (its config, the
 * netns and IPs of its network, its pause container). A record is written
 * before RunPodSandbox makes anything, so a berthd killed half-way leaves a
 * NOTREADY pod the kubelet stops and removes, and with it what was made.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrnoException, validateId, writeFileAtomicAsync } from '../runtime/index.js';
import type { DnsConfig } from './pod-files.js';
import type { PortMapping } from './cni.js';

export type PodRecordState = 'READY' | 'NOTREADY';
/** The pod's own namespaces: 'pod' (new, shared by its containers) or 'node' (the host's). */
export type NamespaceScope = 'pod' | 'node';

export interface PodRecord {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt: number };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  hostname: string;
  logDirectory: string;
  dns?: DnsConfig;
  portMappings: PortMapping[];
  cgroupParent: string;
  sysctls: Record<string, string>;
  namespaces: { network: NamespaceScope; pid: NamespaceScope; ipc: NamespaceScope };
  runtimeHandler: string;
  /** Nanoseconds since the epoch, as a decimal string (JSON has no bigint). */
  createdAt: string;
  /** NOTREADY until RunPodSandbox completes, and again from StopPodSandbox on. */
  state: PodRecordState;
  /** The pod's files (resolv.conf, hostname, hosts). */
  podDir: string;
  pauseContainerId: string;
  sandboxImage: string;
  network?: { netns: string; ips: string[] };
}

export class SandboxStore {
  constructor(readonly dir: string) {}

  path(id: string): string {
    return join(this.dir, `${validateId('pod sandbox id', id)}.json`);
  }

  async save(record: PodRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o711 });
    await writeFileAtomicAsync(this.path(record.id), JSON.stringify(record, null, 2));
  }

  async load(id: string): Promise<PodRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.path(id), 'utf8')) as PodRecord;
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }

  /** Every record; one unreadable (a torn disk) is skipped rather than hiding all the others. */
  async list(): Promise<PodRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return [];
      throw err;
    }
    const records: PodRecord[] = [];
    for (const name of names) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      const record = await this.load(name.slice(0, -'.json'.length)).catch(() => undefined);
      if (record) records.push(record);
    }
    return records;
  }
}
