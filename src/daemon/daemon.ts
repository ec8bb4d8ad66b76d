/**
 * berthd's life: open the supervisor (which locks the state dir and picks
 * every container back up), serve it on the socket, and on stop close both —
 * the containers keep running, a new berthd picks them up.
 */
import { pino, type Logger } from 'pino';
import type { SupervisorApi } from '../supervisor/types.js';
import { Supervisor, type SupervisorOptions } from '../supervisor/supervisor.js';
import { serve, type ApiServer } from '../api/server.js';
import type { DaemonOptions } from './flags.js';

export type OpenSupervisor = (options: SupervisorOptions) => Promise<SupervisorApi>;

export interface DaemonDeps {
  logger: Logger;
  /** Default: Supervisor.open. */
  openSupervisor?: OpenSupervisor;
}

export interface RunningDaemon {
  supervisor: SupervisorApi;
  server: ApiServer;
  /** Stops serving, then closes the supervisor; containers keep running. Idempotent. */
  stop(): Promise<void>;
}

/** JSON lines on stderr, synchronously (nothing lost when the daemon exits). */
export function daemonLogger(level: DaemonOptions['logLevel']): Logger {
  return pino(
    {
      name: 'berthd',
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

export async function startDaemon(
  options: DaemonOptions,
  deps: DaemonDeps,
): Promise<RunningDaemon> {
  const { logger } = deps;
  const open = deps.openSupervisor ?? ((o: SupervisorOptions) => Supervisor.open(o));
  for (const warning of options.warnings) logger.warn({}, warning);
  const supervisor = await open({
    stateDir: options.stateDir,
    runtime: options.runtime,
    runtimeArgs: options.runtimeArgs,
    ...(options.shim !== undefined ? { shim: options.shim } : {}),
    startTimeoutMs: options.startTimeoutMs,
    retainCount: options.retainCount,
    logger: logger.child({ component: 'supervisor' }),
  });
  let server: ApiServer;
  try {
    server = await serve(supervisor, options.listen, {
      logger: logger.child({ component: 'api' }),
    });
  } catch (err) {
    await supervisor.close();
    throw err;
  }
  logger.info(
    {
      listen: options.listen,
      stateDir: options.stateDir,
      runtime: options.runtime,
      runtimeArgs: options.runtimeArgs,
      startTimeoutMs: options.startTimeoutMs,
      retainCount: options.retainCount,
    },
    'berthd serving',
  );
  let stopping: Promise<void> | undefined;
  return {
    supervisor,
    server,
    stop() {
      stopping ??= (async () => {
        await server.close();
        await supervisor.close();
      })();
      return stopping;
    },
  };
}
