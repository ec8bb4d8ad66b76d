/**
 * berthd's socket address, as `berthd --listen`, the CRI's `--cri-listen`
 * and the CLI's `--address` (or $BERTH_ADDRESS) take it: a unix socket only.
 */
import { isAbsolute } from 'node:path';
import { InvalidArgumentError } from '../runtime/index.js';

/** Where berthd serves, and where the CLI looks for it, unless told otherwise. */
export const DEFAULT_ADDRESS = 'unix:///run/berth/berthd.sock';

/** Longest unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH = 107;

export interface UnixAddress {
  /** Normalised to unix:///path, as grpc-js takes it. */
  address: string;
  /** The socket's path. */
  path: string;
}

/**
 * `unix:///path` (or `unix:/path`, or a bare absolute path) → the socket
 * path. Anything else is an InvalidArgumentError that names the value.
 */
export function parseUnixAddress(value: string): UnixAddress {
  const shown = JSON.stringify(value);
  let path: string;
  if (value.startsWith('unix://')) path = value.slice('unix://'.length);
  else if (value.startsWith('unix:')) path = value.slice('unix:'.length);
  else if (value.startsWith('/')) path = value;
  else {
    throw new InvalidArgumentError(
      `address ${shown} is not supported: berthd serves on a unix socket, unix:///path`,
    );
  }
  if (!isAbsolute(path)) {
    throw new InvalidArgumentError(`address ${shown}: the socket path must be absolute`);
  }
  if (path.includes('\0')) {
    throw new InvalidArgumentError(`address ${shown}: a socket path cannot hold a NUL byte`);
  }
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new InvalidArgumentError(
      `address ${shown}: the socket path is longer than ${MAX_SOCKET_PATH} bytes, the most a unix socket takes`,
    );
  }
  return { address: `unix://${path}`, path };
}

/** The socket path of a unix address (see parseUnixAddress). */
export function socketPath(address: string): string {
  return parseUnixAddress(address).path;
}
