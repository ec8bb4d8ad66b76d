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
import { ContainerNotFoundError } from '../runtime/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import { CriServer, type CriServeOptions } from '../cri/server.js';
import { StreamingServer } from '../cri/streaming/server.js';
import type { StreamingBackend } from '../cri/streaming/types.js';
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

/** Until pods serve them, sessions name containers the CRI does not have. */
const noContainers: StreamingBackend = {
  exec: (id) => Promise.reject(new ContainerNotFoundError(`container ${id} not found`)),
  attach: (id) => Promise.reject(new ContainerNotFoundError(`container ${id} not found`)),
  portForward: (id) => Promise.reject(new ContainerNotFoundError(`pod sandbox ${id} not found`)),
};

export async function startCri(
  options: DaemonOptions & { criListen: string },
  supervisor: SupervisorApi,
  logger: Logger,
  backend: StreamingBackend = noContainers,
): Promise<RunningCri> {
  const store = await ImageStore.open(options.store === undefined ? {} : { root: options.store });
  const criStateDir = join(options.stateDir, CRI_STATE_SUBDIR);
  await mkdir(criStateDir, { recursive: true, mode: 0o700 });
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
    netnsDir: options.netnsDir,
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
      netnsDir: options.netnsDir,
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
