/**
 * Watches a shim through its `exit` FIFO: the shim holds it open while it
 * lives and writes event lines (`exit STATUS`, `oom`) into it; EOF means the
 * shim is gone. No polling: the FIFO is a libuv pipe handle.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { Socket } from 'node:net';
import { isErrnoException } from '../errors.js';

export interface ExitChannelHandlers {
  onLine(line: string): void;
  /** The shim has exited (or was never there). Called once. */
  onClosed(): void;
}

export class ExitChannel {
  #socket: Socket | undefined;
  #pending = '';
  #closed = false;
  readonly #handlers: ExitChannelHandlers;

  private constructor(handlers: ExitChannelHandlers) {
    this.#handlers = handlers;
  }

  /**
   * Opens the channel of a shim (its `exit` FIFO). When the shim is already
   * gone, `onClosed` is called before this returns.
   */
  static open(exitFifo: string, handlers: ExitChannelHandlers): ExitChannel {
    const channel = new ExitChannel(handlers);
    channel.#attach(exitFifo);
    return channel;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #attach(path: string): void {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return this.#finish();
      throw err;
    }
    // A reader that opens a FIFO with no writer left never gets POLLHUP from
    // the kernel, so ask once synchronously: EOF now means the shim is dead.
    const buffer = Buffer.alloc(4096);
    let count: number;
    try {
      count = readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      if (!isErrnoException(err, 'EAGAIN')) {
        closeSync(fd);
        throw err;
      }
      count = -1;
    }
    if (count === 0) {
      closeSync(fd);
      return this.#finish();
    }
    if (count > 0) this.#consume(buffer.toString('utf8', 0, count));
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#consume(chunk));
    socket.on('end', () => this.#finish());
    socket.on('close', () => this.#finish());
    socket.on('error', () => this.#finish());
    socket.unref();
    this.#socket = socket;
  }

  #consume(chunk: string): void {
    this.#pending += chunk;
    let newline: number;
    while ((newline = this.#pending.indexOf('\n')) >= 0) {
      const line = this.#pending.slice(0, newline).trim();
      this.#pending = this.#pending.slice(newline + 1);
      if (line !== '') this.#handlers.onLine(line);
    }
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#handlers.onClosed();
  }

  /** Keeps the Node event loop alive while something waits on this shim. */
  ref(): void {
    this.#socket?.ref();
  }

  unref(): void {
    this.#socket?.unref();
  }

  /** Stops watching without calling onClosed. */
  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
    this.#socket = undefined;
  }
}
