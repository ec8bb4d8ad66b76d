/**
 * Container logs in the CRI format, the one the kubelet reads and rotates
 * (`kubectl logs`, `crictl logs`): one record per line of output,
 *
 *   <time, RFC 3339 with nanoseconds> <stdout|stderr> <F|P> <bytes>\n
 *
 * F closes a line; P is part of one: a line longer than `maxLineBytes` is cut
 * into P records of that size and ends with an F record, and output that ends
 * without a newline ends with a P record (containerd's rules). A trailing
 * "\r" before the newline is dropped, as containerd's reader does.
 *
 * Records of both streams go to the file through one queue, each in one
 * write(2) on an O_APPEND descriptor: records never interleave, and reopen()
 * (ReopenContainerLog, after the kubelet renamed the file away) switches files
 * between two records, so no record is lost or split across the two files.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../runtime/index.js';

export type LogStream = 'stdout' | 'stderr';

/** containerd's default `max_container_log_line_size`. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024;
/** The most a line can be cut to; beyond, a record would not fit the kubelet's reader either. */
const MAX_MAX_LINE_BYTES = 1024 * 1024;
/** The log file's mode (containerd's). */
const LOG_FILE_MODE = 0o640;

export const FULL = 'F';
export const PARTIAL = 'P';

/** `2026-12-04T15:04:05.123456789Z`: RFC 3339 in UTC with all nine digits (sorts as text). */
export function formatTimestamp(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // ....sssZ
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

/** Now, in nanoseconds since the epoch, with the precision the clock has. */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

export function formatRecord(
  time: bigint,
  stream: LogStream,
  tag: typeof FULL | typeof PARTIAL,
  content: Buffer,
): Buffer {
  return Buffer.concat([
    Buffer.from(`${formatTimestamp(time)} ${stream} ${tag} `),
    content,
    Buffer.from('\n'),
  ]);
}

/** Cuts one stream's bytes into records. */
export class LineCutter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(
    readonly stream: LogStream,
    readonly maxLineBytes: number,
    readonly clock: () => bigint = nowNs,
  ) {}

  /** The records `chunk` completes. */
  push(chunk: Buffer): Buffer[] {
    const records: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#append(chunk.subarray(start, end), records);
      if (newline === -1) break;
      records.push(this.#record(FULL, this.#take(this.#pendingBytes), true));
      start = newline + 1;
    }
    return records;
  }

  /** The record of the output's unterminated end, if any (at EOF). */
  end(): Buffer[] {
    const records: Buffer[] = [];
    while (this.#pendingBytes > this.maxLineBytes) {
      records.push(this.#record(PARTIAL, this.#take(this.maxLineBytes), false));
    }
    if (this.#pendingBytes > 0) {
      records.push(this.#record(PARTIAL, this.#take(this.#pendingBytes), false));
    }
    return records;
  }

  #append(bytes: Buffer, records: Buffer[]): void {
    if (bytes.length > 0) {
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.length;
    }
    // A CR just past the bound may be the start of a CRLF, which ends the line
    // within the bound: wait for the next byte before cutting.
    while (this.#pendingBytes > this.maxLineBytes && !this.#endsWithCrPastBound()) {
      records.push(this.#record(PARTIAL, this.#take(this.maxLineBytes), false));
    }
  }

  #endsWithCrPastBound(): boolean {
    const last = this.#pending.at(-1);
    return this.#pendingBytes === this.maxLineBytes + 1 && last?.[last.length - 1] === 0x0d;
  }

  /** The first `bytes` of the pending line. */
  #take(bytes: number): Buffer {
    const all = Buffer.concat(this.#pending, this.#pendingBytes);
    const rest = all.subarray(bytes);
    this.#pending = rest.length ? [rest] : [];
    this.#pendingBytes = rest.length;
    return all.subarray(0, bytes);
  }

  #record(tag: typeof FULL | typeof PARTIAL, content: Buffer, atNewline: boolean): Buffer {
    const text =
      atNewline && content.length > 0 && content[content.length - 1] === 0x0d
        ? content.subarray(0, -1)
        : content;
    return formatRecord(this.clock(), this.stream, tag, text);
  }
}

export interface CriLogOptions {
  /** Longest line content in one record (default 16 KiB). */
  maxLineBytes?: number;
  /** The clock records are stamped with (tests pin it). */
  clock?: () => bigint;
}

/** One container's log file, written by any number of streams. */
export class CriLogWriter {
  #file: FileHandle | undefined;
  /** Every write and reopen, in order: one at a time. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #maxLineBytes: number;
  readonly #clock: () => bigint;

  private constructor(
    readonly path: string,
    file: FileHandle,
    options: CriLogOptions,
  ) {
    this.#file = file;
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#clock = options.clock ?? nowNs;
  }

  /** Opens (or creates) the log file at `path` for appending. */
  static async open(path: string, options: CriLogOptions = {}): Promise<CriLogWriter> {
    if (typeof path !== 'string' || !isAbsolute(path) || path.includes('\0')) {
      throw new InvalidArgumentError(
        `log path must be an absolute path, got ${JSON.stringify(path)}`,
      );
    }
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max < 1 || max > MAX_MAX_LINE_BYTES) {
      throw new InvalidArgumentError(
        `maxLineBytes must be an integer from 1 to ${MAX_MAX_LINE_BYTES}, got ${max}`,
      );
    }
    return new CriLogWriter(path, await openLog(path), options);
  }

  /** A writable for one stream's bytes; ending it writes the unterminated rest (P). */
  stream(name: LogStream): Writable {
    const cutter = new LineCutter(name, this.#maxLineBytes, this.#clock);
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.#write(cutter.push(chunk)).then(() => callback(), callback);
      },
      final: (callback) => {
        this.#write(cutter.end()).then(() => callback(), callback);
      },
    });
  }

  /** Copies `source` into the log as `name` until it ends. */
  copy(source: Readable, name: LogStream, signal?: AbortSignal): Promise<void> {
    return pipeline(source, this.stream(name), signal ? { signal } : {});
  }

  /**
   * Opens the log path again (ReopenContainerLog): records written from now
   * on go to the file at `path`, which is created if the old one was renamed
   * away. Records queued before the call go to the old file.
   */
  reopen(): Promise<void> {
    return this.#enqueue(async () => {
      const next = await openLog(this.path);
      const previous = this.#file;
      this.#file = next;
      await previous?.close();
    });
  }

  /** Closes the file once the records queued so far are written. */
  close(): Promise<void> {
    const closed = this.#enqueue(async () => {
      const file = this.#file;
      this.#file = undefined;
      await file?.close();
    });
    this.#closed = true;
    return closed;
  }

  #write(records: Buffer[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.#enqueue(async () => {
      if (!this.#file) throw new InvalidArgumentError(`log ${this.path} is closed`);
      for (const record of records) await writeAll(this.#file, record);
    });
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new InvalidArgumentError(`log ${this.path} is closed`));
    }
    const next = this.#queue.then(step);
    // The queue goes on after a failed step; the caller sees the failure.
    this.#queue = next.catch(() => {});
    return next;
  }
}

function openLog(path: string): Promise<FileHandle> {
  return open(path, 'a', LOG_FILE_MODE);
}

/** One record in one write(2) when the kernel takes it (O_APPEND: each write lands at the end). */
async function writeAll(file: FileHandle, record: Buffer): Promise<void> {
  let offset = 0;
  while (offset < record.length) {
    const { bytesWritten } = await file.write(record, offset);
    offset += bytesWritten;
  }
}
