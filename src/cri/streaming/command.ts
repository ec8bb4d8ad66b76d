/**
 * An Exec or Attach session once its channels are open, whatever the
 * framing (SPDY or WebSocket): the backend runs it, the outputs are ended
 * (flushed) before the status is written on the error channel, then the
 * connection is closed.
 */
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { MetaStatus } from './status.js';
import { exitCodeStatus, internalErrorStatus, successStatus } from './status.js';
import type { SessionStreams, StreamingBackend } from './types.js';

/** What an Exec or Attach URL was handed out for. */
export interface CommandRequest {
  kind: 'exec' | 'attach';
  containerId: string;
  /** Exec only. */
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** A session's channels as its framing opened them. */
export interface CommandChannels {
  streams: Omit<SessionStreams, 'signal'>;
  /** Writes the status on the error channel and closes it. */
  writeStatus(status: MetaStatus): Promise<void>;
  /** Closes the connection. */
  close(): void;
}

/** Ends an output and waits until what was written has gone out (or the peer is gone). */
async function endOutput(output: Writable | null): Promise<void> {
  if (!output || output.destroyed) return;
  output.end();
  await finished(output, { readable: false }).catch(() => {});
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runCommand(
  backend: StreamingBackend,
  request: CommandRequest,
  channels: CommandChannels,
  signal: AbortSignal,
): Promise<void> {
  const streams: SessionStreams = { ...channels.streams, signal };
  let status: MetaStatus;
  try {
    if (request.kind === 'exec') {
      const exitCode = await backend.exec(request.containerId, request.cmd, streams);
      status = exitCode === 0 ? successStatus() : exitCodeStatus(exitCode, request.cmd);
    } else {
      await backend.attach(request.containerId, streams);
      status = successStatus();
    }
  } catch (err) {
    const what = request.kind === 'exec' ? 'executing command in' : 'attaching to';
    status = internalErrorStatus(`error ${what} container: ${message(err)}`);
  } finally {
    streams.resize?.end();
  }
  try {
    await Promise.all([endOutput(streams.stdout), endOutput(streams.stderr)]);
    if (!signal.aborted) await channels.writeStatus(status);
  } finally {
    channels.close();
  }
}
