/**
 * The event journal: `<stateDir>/events.log`, one JSON line per event, the
 * last `retainCount` kept across restarts. An event is written to the file
 * (a write(2), in the kernel's hands) before anyone is told of it, so a
 * supervisor killed at any instant either has it in the journal or never
 * announced it. No fsync per event: it would only guard against the machine
 * itself crashing, which takes the containers with it (and the state dir,
 * /run, is a tmpfs on most hosts).
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isErrnoException, writeFileAtomic } from '../runtime/index.js';
import { EventType, type SupervisorEvent } from './types.js';

export const JournalFile = 'events.log';

/** A journal line: the event, plus the host PID of the process an `exit` is about (never on the wire). */
export interface JournalEntry extends SupervisorEvent {
  systemPid?: number;
}

const EVENT_TYPES = new Set<string>(Object.values(EventType));

function parseLine(line: string): JournalEntry | undefined {
  try {
    const raw = JSON.parse(line) as Record<string, unknown>;
    if (typeof raw.type !== 'string' || !EVENT_TYPES.has(raw.type)) return undefined;
    if (typeof raw.timestamp !== 'string' || !/^\d+$/.test(raw.timestamp)) return undefined;
    return {
      type: raw.type as EventType,
      id: typeof raw.id === 'string' ? raw.id : '',
      pid: typeof raw.pid === 'string' ? raw.pid : '',
      status: typeof raw.status === 'number' ? raw.status : 0,
      timestamp: BigInt(raw.timestamp),
      ...(typeof raw.systemPid === 'number' ? { systemPid: raw.systemPid } : {}),
    };
  } catch {
    // A line torn by a crash mid-write: the event was never announced.
    return undefined;
  }
}

/** Events kept when nobody says how many (berthd's `--retain-count` default, as containerd's). */
export const DEFAULT_RETAIN_COUNT = 500;

function formatLine(entry: JournalEntry): string {
  return `${JSON.stringify({ ...entry, timestamp: entry.timestamp.toString() })}\n`;
}

export class Journal {
  readonly path: string;
  readonly retainCount: number;
  /** The retained entries, oldest first. */
  readonly #entries: JournalEntry[];
  #linesOnDisk: number;
  #fd: number;

  private constructor(path: string, retainCount: number, entries: JournalEntry[], lines: number) {
    this.path = path;
    this.retainCount = retainCount;
    this.#entries = entries;
    this.#linesOnDisk = lines;
    this.#fd = openSync(path, 'a', 0o600);
  }

  static open(stateDir: string, retainCount: number): Journal {
    const path = join(stateDir, JournalFile);
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (!isErrnoException(err, 'ENOENT')) throw err;
    }
    const lines = text.split('\n').filter(Boolean);
    const entries = lines.map(parseLine).filter((entry) => entry !== undefined);
    // Timestamps only grow; a hand-edited or foreign file must not break replay order.
    entries.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
    const journal = new Journal(path, retainCount, entries.slice(-retainCount), lines.length);
    if (lines.length > retainCount) journal.#compact();
    return journal;
  }

  /** The newest timestamp on record (0n for an empty journal). */
  get lastTimestamp(): bigint {
    return this.#entries.at(-1)?.timestamp ?? 0n;
  }

  /** Retained entries newer than `since`, oldest first. */
  since(since: bigint): JournalEntry[] {
    const entries = this.#entries;
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (entries[mid]!.timestamp <= since) low = mid + 1;
      else high = mid;
    }
    return entries.slice(low);
  }

  /** True when an `exit` of this process (by container, process id and host PID) is on record. */
  hasExit(id: string, pid: string, systemPid: number): boolean {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (entry.type === EventType.Exit && entry.id === id && entry.pid === pid) {
        return entry.systemPid === undefined || entry.systemPid === systemPid;
      }
    }
    return false;
  }

  /** Appends; the entry survives the supervisor's death from here on. */
  append(entry: JournalEntry): void {
    writeSync(this.#fd, formatLine(entry));
    this.#entries.push(entry);
    if (this.#entries.length > this.retainCount) this.#entries.shift();
    if (++this.#linesOnDisk >= 2 * this.retainCount) this.#compact();
  }

  /** Rewrites the file with only the retained entries (atomically: a crash keeps one or the other). */
  #compact(): void {
    writeFileAtomic(this.path, this.#entries.map(formatLine).join(''));
    closeSync(this.#fd);
    this.#fd = openSync(this.path, 'a', 0o600);
    this.#linesOnDisk = this.#entries.length;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
