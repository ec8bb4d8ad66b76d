/**
 * berthd's CRI: the image store, the streaming server (exec, attach,
 * port-forward) and the CRI socket, started together over the supervisor and
 * closed together. Closing stops serving only: images, pods and containers
 * stay as they are for the next berthd.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ImageStore } from '../images/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import type { CriContainerLookup } from '../cri/container-lookup.js';
import { removeStaleExecFifos } from '../cri/exec-fifos.js';
import { CriServer, type CriServeOptions } from '../cri/server.js';
import type { CriContainers } from '../cri/containers.js';
import { criContainersFrom, podSandboxesFrom } from '../cri/runtime-service.js';
import { SupervisorStreamingBackend } from '../cri/streaming-backend.js';
import { StreamingServer } from '../cri/streaming/server.js';
import type { DaemonOptions } from './flags.js';

/** The CRI's own records (pods, containers) under the state dir: a dot name is no container id. */
export const CRI_STATE_SUBDIR = '.cri';

export interface RunningCri {
  server: CriServer;
  streaming: StreamingServer;
  store: ImageStore;
  /** The CRI's containers (undefined only if pods cannot be served). */
  containers: CriContainers | undefined;
  /** Stops the CRI socket, then the streaming server. Idempotent. */
  close(): Promise<void>;
}

/** Where exec FIFO folders are made, under the CRI's state dir. */
export const EXEC_FIFO_SUBDIR = 'exec';

const noCriContainers: CriContainerLookup = {
  resolve: () => Promise.resolve(undefined),
  list: () => Promise.resolve([]),
};

export async function startCri(
  options: DaemonOptions & { criListen: string },
  supervisor: SupervisorApi,
  logger: Logger,
): Promise<RunningCri> {
  const store = await ImageStore.open(options.store === undefined ? {} : { root: options.store });
  const criStateDir = join(options.stateDir, CRI_STATE_SUBDIR);
  await mkdir(criStateDir, { recursive: true, mode: 0o700 });
  const execFifoDir = join(criStateDir, EXEC_FIFO_SUBDIR);
  await removeStaleExecFifos(execFifoDir);
  const podOptions = {
    store,
    supervisor,
    criStateDir,
    cniConfDir: options.cniConfDir,
    cniBinDirs: options.cniBinDirs,
    sandboxImage: options.sandboxImage,
    netnsDir: options.netnsDir,
  };
  const pods = podSandboxesFrom(podOptions);
  const containers = pods && criContainersFrom(podOptions, pods);
  // Records, running containers' output and the exits missed while down, before anyone asks.
  await containers?.open();
  const backend = new SupervisorStreamingBackend({
    supervisor,
    lookup: containers ?? noCriContainers,
    fifoRoot: execFifoDir,
    ...(pods ? { pods } : {}),
    ...(containers ? { attach: (id, streams) => containers.attach(id, streams) } : {}),
  });
  const streaming = await StreamingServer.listen({
    backend,
    host: options.streamingAddress.host,
    port: options.streamingAddress.port,
  }).catch(async (err: unknown) => {
    await containers?.close();
    throw err;
  });
  const serveOptions: CriServeOptions = {
    ...podOptions,
    ...(pods ? { pods } : {}),
    ...(containers ? { containers } : {}),
    execFifoDir,
    streaming,
    logger: logger.child({ component: 'cri' }),
  };
  let server: CriServer;
  try {
    server = await CriServer.listen(options.criListen, serveOptions);
  } catch (err) {
    await streaming.close();
    await containers?.close();
    throw err;
  }
  logger.info(
    {
      criListen: options.criListen,
      store: store.root,
      streaming: streaming.baseUrl,
      cniConfDir: options.cniConfDir,
      cniBinDirs: options.cniBinDirs,
      sandboxImage: options.sandboxImage,
      netnsDir: options.netnsDir,
    },
    'CRI serving',
  );
  let closing: Promise<void> | undefined;
  return {
    server,
    streaming,
    store,
    containers,
    close() {
      closing ??= (async () => {
        await server.close();
        await streaming.close();
        await containers?.close();
      })();
      return closing;
    },
  };
}
