/**
 * What the streaming server asks of the runtime: the interface the
 * supervisor (or a test) implements to run Exec, Attach and PortForward
 * sessions once a client has connected to a one-time URL.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import type { TerminalSizeQueue } from './resize.js';

export interface TerminalSize {
  width: number;
  height: number;
}

/** One session's streams, as the client asked for them (null: not asked for). */
export interface SessionStreams {
  tty: boolean;
  /** The client's input; it ends when the client closes it. */
  stdin: Readable | null;
  stdout: Writable | null;
  /** Always null with a tty (a terminal has one output). */
  stderr: Writable | null;
  /** The client's window sizes, with a tty; it ends with the session. */
  resize: TerminalSizeQueue | null;
  /** Aborted when the client goes away or the server closes. */
  signal: AbortSignal;
}

export interface StreamingBackend {
  /**
   * Runs `cmd` in the container with the session's streams; resolves with
   * its exit status once it has exited and its output is written. A throw is
   * reported to the client as an internal error.
   */
  exec(containerId: string, cmd: string[], streams: SessionStreams): Promise<number>;
  /** Joins the container's main process' streams until it exits or the client leaves. */
  attach(containerId: string, streams: SessionStreams): Promise<void>;
  /**
   * Carries `stream` to and from `port` in the pod's network namespace until
   * either side closes it. A throw is reported on the client's error stream.
   */
  portForward(
    podSandboxId: string,
    port: number,
    stream: Duplex,
    signal: AbortSignal,
  ): Promise<void>;
}
