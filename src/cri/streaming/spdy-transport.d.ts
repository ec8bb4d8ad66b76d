/** The parts of spdy-transport (SPDY/3.1 framing) the streaming server and its tests use. */
declare module 'spdy-transport' {
  import type { Duplex } from 'node:stream';
  import type { EventEmitter } from 'node:events';

  export interface SpdyStream extends Duplex {
    id: number;
    headers: Record<string, string>;
    respond(
      status: number,
      headers: Record<string, string>,
      callback?: (err?: Error) => void,
    ): void;
    abort(callback?: () => void): void;
  }

  interface WindowSide {
    current: number;
    max: number;
    limit: number;
    lowWaterMark: number;
  }

  export interface SpdyConnection extends EventEmitter {
    _spdyState: {
      parser: {
        parseKVs(
          body: unknown,
          callback: (err: Error | null, headers?: Record<string, string>) => void,
        ): void;
      };
      window: { send: WindowSide; recv: WindowSide };
      streamWindow: { send: WindowSide; recv: WindowSide };
    };
    _setDefaultWindow(settings: unknown): void;
    start(version: number): void;
    request(
      options: { method: string; path: string; headers: Record<string, string>; host?: string },
      callback: (err: Error | null, stream: SpdyStream) => void,
    ): SpdyStream;
    end(callback?: () => void): void;
    on(event: 'stream', listener: (stream: SpdyStream) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'close', listener: () => void): this;
  }

  const transport: {
    connection: {
      create(
        socket: Duplex,
        options: { protocol: 'spdy'; isServer: boolean; maxStreams?: number; windowSize?: number },
      ): SpdyConnection;
    };
  };
  export default transport;
}
