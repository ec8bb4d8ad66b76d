/**
 * berthd's life: open the supervisor (which locks the state dir and picks
 * every container back up), serve it on the socket (and the CRI on its own
 * when asked), and on stop close them all — the containers and images stay,
 * a new berthd picks them up.
 */
import { pino, type Logger } from 'pino';
import type { SupervisorApi } from '../supervisor/types.js';
import { Supervisor, type SupervisorOptions } from '../supervisor/supervisor.js';
import { serve, type ApiServer } from '../api/server.js';
import type { RunningCri } from './cri.js';
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
  /** The CRI, when `--cri-listen` was given. */
  cri: RunningCri | undefined;
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
  let cri: RunningCri | undefined;
  if (options.criListen !== undefined) {
    try {
      // Loaded only when asked for: the CRI, the images layer and the streaming
      // server are megabytes of berthd's memory that a v0.2.8 daemon never uses.
      const { startCri } = await import('./cri.js');
      cri = await startCri({ ...options, criListen: options.criListen }, supervisor, logger);
    } catch (err) {
      await server.close();
      await supervisor.close();
      throw err;
    }
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
    cri,
    stop() {
      stopping ??= (async () => {
        await cri?.close();
        await server.close();
        await supervisor.close();
      })();
      return stopping;
    },
  };
}
