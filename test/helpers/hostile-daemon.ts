/** A real berthd of its own (temp state dir and socket) for the hostile-* tests, and the checks that nothing is left. */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Container } from '../../src/index.js';
import { tempDir } from '../../support/busybox.js';
import { connect } from './api-client.js';
import { pidAlive, spawnBerthd } from './berthd-process.js';

export { pidAlive };
import { processesUnder, runtimeIds } from './env.js';

export interface HostileDaemon {
  child: ChildProcess;
  pid: number;
  base: string;
  stateDir: string;
  socket: string;
  address: string;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Kills its containers through its API, stops it, force-deletes what is left, removes the temp dir. */
  stop(): Promise<void>;
}

export async function startHostileBerthd(extra: string[] = []): Promise<HostileDaemon> {
  const base = tempDir('berth-hostile-');
  const stateDir = join(base, 'state');
  mkdirSync(stateDir, { recursive: true });
  const socket = join(base, 'berthd.sock');
  const started = await spawnBerthd(stateDir, socket, [
    '--runtime',
    'runc',
    '--debug',
    '--metrics-interval',
    '0',
    ...extra,
  ]);
  const { child, address } = started;
  const daemon: HostileDaemon = {
    child,
    pid: child.pid!,
    base,
    stateDir,
    socket,
    address,
    log: started.log,
    exited: started.exited,
    alive: () => child.exitCode === null && child.signalCode === null && pidAlive(child.pid!),
    async stop() {
      if (daemon.alive()) {
        const client = connect(address);
        try {
          const state = await client.state({ id: '' });
          for (const c of state.containers)
            await client.signal({ id: c.id, pid: 'init', signal: 9 }).catch(() => {});
          const deadline = Date.now() + 10_000;
          while (Date.now() < deadline && (await client.state({ id: '' })).containers.length > 0)
            await sleep(50);
        } catch {
          // Not answering: the fallbacks below.
        } finally {
          client.close();
        }
        process.kill(daemon.pid, 'SIGTERM');
        const stopped = await Promise.race([
          started.exited,
          sleep(10_000, 'timeout' as const, { ref: false }),
        ]);
        if (stopped === 'timeout') {
          process.kill(daemon.pid, 'SIGKILL');
          await started.exited;
        }
      }
      try {
        if (existsSync(stateDir)) {
          const { containers } = await Container.loadAll(stateDir);
          for (const c of containers) await c.delete({ force: true }).catch(() => {});
        }
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
  return daemon;
}

/** What is in the state dir besides what a daemon keeps there (.runtime, .pending, events.log, dot entries). */
export function leftInStateDir(stateDir: string): string[] {
  return readdirSync(stateDir).filter((name) => !name.startsWith('.') && name !== 'events.log');
}

/** Everything a test may have left: state folders, runtime state, processes. */
export function leftBehind(stateDir: string): {
  folders: string[];
  runtime: string[];
  processes: unknown[];
} {
  return {
    folders: leftInStateDir(stateDir),
    runtime: runtimeIds(stateDir),
    processes: processesUnder(stateDir),
  };
}
