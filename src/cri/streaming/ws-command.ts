/**
 * Exec and Attach over WebSocket (k8s.io/apimachinery wsstream, the
 * channel protocols): every binary message starts with its channel number,
 * 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize. v4 writes a metav1.Status
 * on the error channel; v5 adds the client's "close" message, 255 followed
 * by the channel it closes (stdin's end, which v4 cannot say).
 */
import { PassThrough, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { CommandChannels, CommandRequest } from './command.js';
import { ResizeDecoder, TerminalSizeQueue } from './resize.js';
import { statusBytes } from './status.js';

export const WS_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** One output channel: each write is one message, done when the socket has taken it. */
function outputChannel(ws: WebSocket, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (ws.readyState !== ws.OPEN) return callback(new Error('the client has gone'));
      ws.send(Buffer.concat([Buffer.from([channel]), chunk]), { binary: true }, (err) =>
        callback(err ?? null),
      );
    },
  });
}

export function wsCommandChannels(
  ws: WebSocket,
  protocol: string,
  request: CommandRequest,
): CommandChannels {
  const stdin = request.stdin ? new PassThrough() : null;
  const resize = request.tty ? new TerminalSizeQueue() : null;
  const decoder = new ResizeDecoder();
  const closable = protocol === 'v5.channel.k8s.io';
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const channel = data[0];
    const payload = data.subarray(1);
    if (channel === CHANNEL.stdin && stdin && !stdin.writableEnded) {
      // The socket waits while the process is not reading.
      if (!stdin.write(payload)) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (channel === CHANNEL.resize && resize) {
      try {
        for (const size of decoder.push(payload)) resize.push(size);
      } catch {
        resize.end();
      }
    } else if (closable && channel === CHANNEL.close && payload[0] === CHANNEL.stdin) {
      stdin?.end();
    }
    // Anything else is for a channel this session does not read: ignored, as wsstream does.
  });
  ws.on('close', () => {
    stdin?.end();
    resize?.end();
  });
  return {
    streams: {
      tty: request.tty,
      stdin,
      stdout: request.stdout ? outputChannel(ws, CHANNEL.stdout) : null,
      stderr: request.stderr && !request.tty ? outputChannel(ws, CHANNEL.stderr) : null,
      resize,
    },
    writeStatus: (status) =>
      new Promise<void>((resolve) => {
        if (ws.readyState !== ws.OPEN) return resolve();
        ws.send(
          Buffer.concat([Buffer.from([CHANNEL.error]), statusBytes(status)]),
          { binary: true },
          () => resolve(),
        );
      }),
    close: () => {
      if (ws.readyState === ws.OPEN) ws.close(1000);
      const timer = setTimeout(() => ws.terminate(), 5_000);
      timer.unref();
      ws.once('close', () => clearTimeout(timer));
    },
  };
}
