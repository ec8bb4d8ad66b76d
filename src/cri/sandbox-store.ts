/**
 * The pod sandboxes' records on disk, one `<dir>/<id>.json` each, written
 * atomically: what a restarted berthd knows of every pod (its config, the
 * netns and IPs of its network, its pause container). A record is written
 * before RunPodSandbox makes anything, so a berthd killed half-way leaves a
 * NOTREADY pod the kubelet stops and removes, and with it what was made.
 */
import { RecordDir } from './record-dir.js';
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

export class SandboxStore extends RecordDir<PodRecord> {
  constructor(dir: string) {
    super(dir, 'pod sandbox id', 0o711);
  }
}
