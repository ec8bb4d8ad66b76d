#!/usr/bin/env -S node --max-semi-space-size=1 --no-opt
/**
 * berthd: the supervisor behind containerd v0.2.8's gRPC API on a unix
 * socket. Run it under a subreaper (`tini -s -- berthd ...`) where PID 1 does
 * not reap orphans. SIGTERM/SIGINT stop serving and exit 0; the containers
 * keep running and the next berthd on the same state dir picks them up.
 *
 * The #! line's V8 flags trade speed berthd does not need for memory: a 1 MB
 * young generation, and no optimizing compiler (`--no-opt`: its code, its
 * compiler's pages of the node binary and its zones are ≈ 5 MB of RSS, while
 * berthd's JavaScript is a thin layer between gRPC and system calls, and the
 * baseline compiler still compiles what is hot).
 */
import { packageVersion } from '../api/version.js';
import { daemonLogger, startDaemon, type RunningDaemon } from './daemon.js';
import { FlagError, parseFlags } from './flags.js';

/** Exit status for a command line berthd cannot run with (as Go's flag package). */
const EXIT_USAGE = 2;

function fail(message: string, status: number): never {
  process.stderr.write(`berthd: ${message}\n`);
  process.exit(status);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseFlags(argv, { version: packageVersion(), cwd: process.cwd() });
  } catch (err) {
    if (err instanceof FlagError) fail(`${err.message} (see berthd --help)`, EXIT_USAGE);
    throw err;
  }
  if (parsed.kind !== 'run') {
    process.stdout.write(parsed.text);
    return;
  }
  const options = parsed.options;
  process.title = 'berthd';
  const logger = daemonLogger(options.logLevel);

  let daemon: RunningDaemon | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal while stopping: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping berthd; containers keep running');
    // Still starting: main() stops the daemon once it is up.
    if (daemon) shutdown(daemon);
  };
  const shutdown = (running: RunningDaemon) => {
    running.stop().then(
      () => {
        logger.info({}, 'berthd stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    daemon = await startDaemon(options, { logger });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // One clear line for what a person can fix: a state dir or socket in use, a bad address.
    if (
      code === 'ERR_STATE_DIR_LOCKED' ||
      code === 'ERR_INVALID_ARGUMENT' ||
      code === 'EACCES' ||
      code === 'ERR_IMAGE_STORE' ||
      code === 'EADDRINUSE'
    ) {
      fail((err as Error).message, 1);
    }
    logger.fatal({ err }, 'berthd could not start');
    process.exit(1);
  }
  // A signal that came while starting: stop now that there is something to stop.
  if (stopping) shutdown(daemon);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(
    `berthd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
