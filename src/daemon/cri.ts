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
import { podSandboxesFrom } from '../cri/runtime-service.js';
import { CriServer, type CriServeOptions } from '../cri/server.js';
import { SupervisorStreamingBackend, type AttachFunction } from '../cri/streaming-backend.js';
import { StreamingServer } from '../cri/streaming/server.js';
import type { DaemonOptions } from './flags.js';

/** The CRI's own records (pods, containers) under the state dir: a dot name is no container id. */
export const CRI_STATE_SUBDIR = '.cri';

export interface RunningCri {
  server: CriServer;
  streaming: StreamingServer;
  store: ImageStore;
  /** Stops the CRI socket, then the streaming server. Idempotent. */
  close(): Promise<void>;
}

/** Where exec FIFO folders are made, under the CRI's state dir. */
export const EXEC_FIFO_SUBDIR = 'exec';

/** The CRI containers exec, attach and stats reach (CriContainers; none until they are given). */
export interface CriContainerWiring {
  containerLookup?: CriContainerLookup;
  attach?: AttachFunction;
}

const noCriContainers: CriContainerLookup = {
  resolve: () => Promise.resolve(undefined),
  list: () => Promise.resolve([]),
};

export async function startCri(
  options: DaemonOptions & { criListen: string },
  supervisor: SupervisorApi,
  logger: Logger,
  wiring: CriContainerWiring = {},
): Promise<RunningCri> {
  const store = await ImageStore.open(options.store === undefined ? {} : { root: options.store });
  const criStateDir = join(options.stateDir, CRI_STATE_SUBDIR);
  await mkdir(criStateDir, { recursive: true, mode: 0o700 });
  const execFifoDir = join(criStateDir, EXEC_FIFO_SUBDIR);
  await removeStaleExecFifos(execFifoDir);
  const containerLookup = wiring.containerLookup ?? noCriContainers;
  const pods = podSandboxesFrom({
    store,
    supervisor,
    criStateDir,
    cniConfDir: options.cniConfDir,
    cniBinDirs: options.cniBinDirs,
    sandboxImage: options.sandboxImage,
  });
  const backend = new SupervisorStreamingBackend({
    supervisor,
    lookup: containerLookup,
    fifoRoot: execFifoDir,
    ...(pods ? { pods } : {}),
    ...(wiring.attach ? { attach: wiring.attach } : {}),
  });
  const streaming = await StreamingServer.listen({
    backend,
    host: options.streamingAddress.host,
    port: options.streamingAddress.port,
  });
  const serveOptions: CriServeOptions = {
    store,
    supervisor,
    criStateDir,
    cniConfDir: options.cniConfDir,
    cniBinDirs: options.cniBinDirs,
    sandboxImage: options.sandboxImage,
    ...(pods ? { pods } : {}),
    containerLookup,
    execFifoDir,
    streaming,
    logger: logger.child({ component: 'cri' }),
  };
  let server: CriServer;
  try {
    server = await CriServer.listen(options.criListen, serveOptions);
  } catch (err) {
    await streaming.close();
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
    },
    'CRI serving',
  );
  let closing: Promise<void> | undefined;
  return {
    server,
    streaming,
    store,
    close() {
      closing ??= (async () => {
        await server.close();
        await streaming.close();
      })();
      return closing;
    },
  };
}
