/**
 * The CRI containers' records on disk, one `<dir>/<id>.json` each, written
 * atomically: what a restarted berthd knows of every container (its config,
 * its state, its exit). A record is written before CreateContainer makes
 * anything and removed last by RemoveContainer. Beside them, `<dir>/<id>/`
 * holds the container's stdio FIFOs, and `events.cursor` the timestamp of
 * the last supervisor event applied (a restart replays from there).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrnoException, validateId, writeFileAtomicAsync } from '../runtime/index.js';
import { RecordDir } from './record-dir.js';

export type ContainerRecordState = 'CREATED' | 'RUNNING' | 'EXITED';

/** A CRI mount as recorded (the wire's, JSON-safe). */
export interface RecordedMount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  selinuxRelabel: boolean;
  propagation: number;
}

/** LinuxContainerResources with its int64 fields as decimal strings (JSON has no bigint). */
export interface RecordedResources {
  cpuPeriod: string;
  cpuQuota: string;
  cpuShares: string;
  memoryLimitInBytes: string;
  oomScoreAdj: string;
  cpusetCpus: string;
  cpusetMems: string;
  hugepageLimits: Array<{ pageSize: string; limit: string }>;
  unified: Record<string, string>;
  memorySwapLimitInBytes: string;
}

export interface ContainerRecord {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The image as the request named it, its annotations, and the image id it resolved to. */
  image: string;
  imageAnnotations: Record<string, string>;
  imageRef: string;
  /** The log file (pod log dir + the config's log_path); '' for none. */
  logPath: string;
  mounts: RecordedMount[];
  resources?: RecordedResources;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  /** The signal StopContainer sends first (the image's StopSignal, else SIGTERM). */
  stopSignal: number;
  /** The bundle createImageBundle made (the supervisor's delete removes it). */
  bundlePath: string;
  /** Its writable layer, for stats. */
  upperDir: string;
  /** The FIFOs' folder. */
  ioDir: string;
  state: ContainerRecordState;
  /** Nanoseconds since the epoch, as decimal strings. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: string;
  message?: string;
  /** An `oom` event came for it while it ran. */
  oomKilled?: boolean;
  /** The process keeping its output FIFOs open across berthd restarts, and its start time (PID reuse). */
  holder?: { pid: number; starttime: string };
}

export class ContainerStore extends RecordDir<ContainerRecord> {
  constructor(dir: string) {
    super(dir, 'container id', 0o700);
  }

  ioDir(id: string): string {
    return join(this.dir, validateId('container id', id));
  }

  /** The timestamp of the last supervisor event applied; 0 when none was. */
  async cursor(): Promise<bigint> {
    try {
      const text = (await readFile(join(this.dir, 'events.cursor'), 'utf8')).trim();
      return /^\d+$/.test(text) ? BigInt(text) : 0n;
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return 0n;
      throw err;
    }
  }

  async saveCursor(timestamp: bigint): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomicAsync(join(this.dir, 'events.cursor'), timestamp.toString(), {
      sync: false,
    });
  }
}
