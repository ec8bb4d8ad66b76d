/**
 * One supervisor per state dir. The lock is an abstract unix socket named
 * after the state dir's real path: the kernel releases it the instant its
 * holder dies (kill -9 included), so there is no stale lock to guess about,
 * and a second holder fails at once with EADDRINUSE.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { StateDirLockedError } from './errors.js';

export interface StateDirLock {
  release(): Promise<void>;
}

export async function lockStateDir(stateDir: string): Promise<StateDirLock> {
  const key = createHash('sha256').update(realpathSync(stateDir)).digest('hex').slice(0, 40);
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new StateDirLockedError(`state dir ${stateDir} is in use by another berth supervisor`)
          : err,
      );
    });
    server.listen({ path: `\0berth-state-${key}` }, () => resolve());
  });
  // Holding the lock must not keep an embedding program alive.
  server.unref();
  return {
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
