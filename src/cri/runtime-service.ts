/**
 * runtime.v1.RuntimeService: Version and Status are answered; Exec, Attach
 * and PortForward hand out streaming URLs when a streaming server is given;
 * every other RPC is UNIMPLEMENTED for now.
 */
import { join } from 'node:path';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { packageVersion } from '../api/version.js';
import {
  RuntimeServiceService,
  type AttachRequest,
  type AttachResponse,
  type ExecRequest,
  type ExecResponse,
  type ContainerStatusRequest,
  type ContainerStatusResponse,
  type CreateContainerRequest,
  type CreateContainerResponse,
  type ListContainersRequest,
  type ListContainersResponse,
  type RemoveContainerRequest,
  type RemoveContainerResponse,
  type ReopenContainerLogRequest,
  type ReopenContainerLogResponse,
  type StartContainerRequest,
  type StartContainerResponse,
  type StopContainerRequest,
  type StopContainerResponse,
  type UpdateContainerResourcesRequest,
  type UpdateContainerResourcesResponse,
  type ListPodSandboxRequest,
  type ListPodSandboxResponse,
  type PodSandboxStatusRequest,
  type PodSandboxStatusResponse,
  type RemovePodSandboxRequest,
  type RemovePodSandboxResponse,
  type RunPodSandboxRequest,
  type RunPodSandboxResponse,
  type StopPodSandboxRequest,
  type StopPodSandboxResponse,
  type PortForwardRequest,
  type PortForwardResponse,
  type RuntimeServiceServer,
  type StatusRequest,
  type StatusResponse,
  type UpdateRuntimeConfigRequest,
  type UpdateRuntimeConfigResponse,
  type VersionRequest,
  type VersionResponse,
  type ContainerStatsRequest,
  type ContainerStatsResponse,
  type ExecSyncRequest,
  type ExecSyncResponse,
  type ListContainerStatsRequest,
  type ListContainerStatsResponse,
  type ListPodSandboxStatsRequest,
  type ListPodSandboxStatsResponse,
  type PodSandboxStatsRequest,
  type PodSandboxStatsResponse,
} from './generated/api.js';
import type { CriContainerLookup } from './container-lookup.js';
import { execSync } from './exec-sync.js';
import { CriStats } from './stats.js';
import { DEFAULT_CNI_CONF_DIR, networkCondition } from './network-status.js';
import { criStatusFromError } from './pod-errors.js';
import type { ImageStore } from '../images/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import { CniNetwork } from './cni.js';
import { DEFAULT_NETNS_DIR, NetnsStore } from './netns.js';
import { PodNetworks } from './pod-network.js';
import { PodSandboxes } from './pods.js';
import { CriContainers } from './containers.js';
import { RuntimeConfigState } from './runtime-config.js';
import { unimplementedHandlers } from './unimplemented.js';

/** What Version reports as the runtime's name (crictl and the kubelet show it). */
export const RUNTIME_NAME = 'berth';
/** The CRI version served: runtime.v1. */
export const RUNTIME_API_VERSION = 'v1';
/** Version's `version`: the kubelet's API version string for runtime.v1 (containerd's and CRI-O's). */
export const KUBELET_API_VERSION = '0.1.0';

/** Hands out one-time streaming URLs (src/cri/streaming/server.ts is one). */
export interface StreamingUrls {
  execUrl(request: ExecRequest): Promise<string>;
  attachUrl(request: AttachRequest): Promise<string>;
  portForwardUrl(request: PortForwardRequest): Promise<string>;
}

export interface RuntimeServiceOptions {
  /** Where CNI configurations are looked for (default /etc/cni/net.d). */
  cniConfDir?: string;
  /** Without it, Exec, Attach and PortForward are UNIMPLEMENTED. */
  streaming?: StreamingUrls;
  /** The pod sandboxes; made from the fields below when absent (berthd's way). */
  pods?: PodSandboxes;
  /** The pods' containers; made from the pods and the fields below when absent (berthd's way). */
  containers?: CriContainers;
  /** The supervisor that runs the pods' containers. */
  supervisor?: SupervisorApi;
  /** The image store the pods' images come from. */
  store?: ImageStore;
  /** Where the CRI keeps its records of pods and containers (berthd: `<state-dir>/.cri`). */
  criStateDir?: string;
  /** Folders of CNI plugins, searched in order (default /usr/lib/cni, /opt/cni/bin). */
  cniBinDirs?: readonly string[];
  /** Image of the pod sandboxes' pause container. */
  sandboxImage?: string;
  /** The pause container's command (default: the sandbox image's own). */
  sandboxCommand?: string[];
  /** Where pods' network namespaces are bound (default /run/berth/netns). */
  netnsDir?: string;
  /** The CRI containers; with a supervisor, ExecSync and the stats RPCs are served. */
  containerLookup?: CriContainerLookup;
  /** Where ExecSync makes its FIFO folders (default `<criStateDir>/exec`). */
  execFifoDir?: string;
}

/**
 * A unary handler from an async function: its error becomes the gRPC status.
 * The signal aborts when the client gives up (its deadline, a cancel), so
 * that work it no longer waits for stops and undoes itself.
 */
function unary<Req, Res>(
  handle: (request: Req, signal: AbortSignal) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const controller = new AbortController();
    call.once('cancelled', () => controller.abort());
    handle(call.request, controller.signal).then(
      (response) => callback(null, response),
      (err: unknown) => {
        const { code, details, metadata } = criStatusFromError(err);
        callback(metadata ? { code, details, metadata } : { code, details });
      },
    );
  };
}

export function versionResponse(): VersionResponse {
  return {
    version: KUBELET_API_VERSION,
    runtimeName: RUNTIME_NAME,
    runtimeVersion: packageVersion(),
    runtimeApiVersion: RUNTIME_API_VERSION,
  };
}

/** The RuntimeService's handlers. */
export function runtimeService(options: RuntimeServiceOptions = {}): RuntimeServiceServer {
  const cniConfDir = options.cniConfDir ?? DEFAULT_CNI_CONF_DIR;
  const handlers = unimplementedHandlers(RuntimeServiceService) as RuntimeServiceServer;
  handlers.version = unary<VersionRequest, VersionResponse>(() =>
    Promise.resolve(versionResponse()),
  );
  // The pod CIDRs of UpdateRuntimeConfig: kept (on disk with a CRI state dir), shown by Status.
  const runtimeConfig = new RuntimeConfigState(options.criStateDir);
  handlers.status = unary<StatusRequest, StatusResponse>(async (request) => ({
    status: {
      conditions: [
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        await networkCondition(cniConfDir),
      ],
    },
    info: request.verbose ? await runtimeConfig.verboseInfo() : {},
  }));
  handlers.updateRuntimeConfig = unary<UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponse>(
    async (request) => {
      await runtimeConfig.update(request.runtimeConfig);
      return {};
    },
  );
  const streaming = options.streaming;
  if (streaming) {
    handlers.exec = unary<ExecRequest, ExecResponse>(async (request) => ({
      url: await streaming.execUrl(request),
    }));
    handlers.attach = unary<AttachRequest, AttachResponse>(async (request) => ({
      url: await streaming.attachUrl(request),
    }));
    handlers.portForward = unary<PortForwardRequest, PortForwardResponse>(async (request) => ({
      url: await streaming.portForwardUrl(request),
    }));
  }
  const pods = options.pods ?? podSandboxesFrom(options);
  let containers: CriContainers | undefined;
  if (pods) {
    servePods(handlers, pods);
    containers = options.containers ?? criContainersFrom(options, pods);
    if (containers) {
      const served = containers;
      serveContainers(handlers, served);
      // A pod's containers go before it does (containerd's RemovePodSandbox).
      handlers.removePodSandbox = unary<RemovePodSandboxRequest, RemovePodSandboxResponse>(
        async (request, signal) => {
          await served.open();
          const id = await pods.resolve(request.podSandboxId).catch(() => undefined);
          if (id) await served.removePodContainers(id, signal);
          await pods.remove(request.podSandboxId, signal);
          return {};
        },
      );
    }
  }
  const containerLookup = options.containerLookup ?? containers;
  serveExecAndStats(handlers, containerLookup ? { ...options, containerLookup } : options, pods);
  return handlers;
}

/** ExecSync and the four stats RPCs, over the supervisor and the CRI containers. */
function serveExecAndStats(
  handlers: RuntimeServiceServer,
  options: RuntimeServiceOptions,
  pods: PodSandboxes | undefined,
): void {
  const { supervisor, containerLookup: lookup } = options;
  if (!supervisor || !lookup) return;
  const fifoRoot =
    options.execFifoDir ?? (options.criStateDir ? join(options.criStateDir, 'exec') : undefined);
  if (fifoRoot) {
    handlers.execSync = unary<ExecSyncRequest, ExecSyncResponse>((request, signal) =>
      execSync({ supervisor, lookup, fifoRoot }, request, signal),
    );
  }
  const stats = new CriStats({
    supervisor,
    lookup,
    ...(pods ? { pods } : {}),
    ...(options.store ? { imageFsMountpoint: options.store.root } : {}),
  });
  handlers.containerStats = unary<ContainerStatsRequest, ContainerStatsResponse>(
    async (request) => ({ stats: await stats.containerStats(request.containerId) }),
  );
  handlers.listContainerStats = unary<ListContainerStatsRequest, ListContainerStatsResponse>(
    async (request) => ({ stats: await stats.listContainerStats(request.filter) }),
  );
  handlers.podSandboxStats = unary<PodSandboxStatsRequest, PodSandboxStatsResponse>(
    async (request) => ({ stats: await stats.podSandboxStats(request.podSandboxId) }),
  );
  handlers.listPodSandboxStats = unary<ListPodSandboxStatsRequest, ListPodSandboxStatsResponse>(
    async (request) => ({ stats: await stats.listPodSandboxStats(request.filter) }),
  );
}

/** The pod sandboxes of a berthd: a supervisor, an image store and a CRI state dir make them; without, none. */
export function podSandboxesFrom(options: RuntimeServiceOptions): PodSandboxes | undefined {
  const { supervisor, store, criStateDir } = options;
  if (!supervisor || !store || !criStateDir) return undefined;
  const networks = new PodNetworks(
    new NetnsStore(options.netnsDir ?? DEFAULT_NETNS_DIR),
    new CniNetwork({
      stateDir: join(criStateDir, 'cni'),
      confDir: options.cniConfDir ?? DEFAULT_CNI_CONF_DIR,
      ...(options.cniBinDirs ? { binDirs: options.cniBinDirs } : {}),
    }),
  );
  return new PodSandboxes({
    supervisor,
    images: store,
    stateDir: criStateDir,
    networks,
    ...(options.sandboxImage ? { sandboxImage: options.sandboxImage } : {}),
    ...(options.sandboxCommand ? { sandboxCommand: options.sandboxCommand } : {}),
  });
}

function servePods(handlers: RuntimeServiceServer, pods: PodSandboxes): void {
  handlers.runPodSandbox = unary<RunPodSandboxRequest, RunPodSandboxResponse>(
    async (request, signal) => ({
      podSandboxId: await pods.run(request.config, request.runtimeHandler, signal),
    }),
  );
  handlers.stopPodSandbox = unary<StopPodSandboxRequest, StopPodSandboxResponse>(
    async (request, signal) => {
      await pods.stop(request.podSandboxId, signal);
      return {};
    },
  );
  handlers.removePodSandbox = unary<RemovePodSandboxRequest, RemovePodSandboxResponse>(
    async (request, signal) => {
      await pods.remove(request.podSandboxId, signal);
      return {};
    },
  );
  handlers.podSandboxStatus = unary<PodSandboxStatusRequest, PodSandboxStatusResponse>(
    async (request) => {
      const { status, info } = await pods.status(request.podSandboxId, request.verbose);
      return { status, info, containersStatuses: [], timestamp: BigInt(Date.now()) * 1_000_000n };
    },
  );
  handlers.listPodSandbox = unary<ListPodSandboxRequest, ListPodSandboxResponse>(
    async (request) => ({
      items: await pods.list(request.filter),
    }),
  );
}

/** The containers of a berthd's pods: the pods' supervisor, image store and CRI state dir make them. */
export function criContainersFrom(
  options: RuntimeServiceOptions,
  pods: PodSandboxes,
): CriContainers | undefined {
  const { supervisor, store, criStateDir } = options;
  if (!supervisor || !store || !criStateDir) return undefined;
  return new CriContainers({ supervisor, images: store, pods, stateDir: criStateDir });
}

function serveContainers(handlers: RuntimeServiceServer, containers: CriContainers): void {
  // Every container RPC waits until the records and the events missed are picked up.
  const ready = <Req, Res>(handle: (request: Req, signal: AbortSignal) => Promise<Res>) =>
    unary<Req, Res>(async (request, signal) => {
      await containers.open();
      return handle(request, signal);
    });
  handlers.createContainer = ready<CreateContainerRequest, CreateContainerResponse>(
    async (request) => ({
      containerId: await containers.create(
        request.podSandboxId,
        request.config,
        request.sandboxConfig,
      ),
    }),
  );
  handlers.startContainer = ready<StartContainerRequest, StartContainerResponse>(
    async (request) => {
      await containers.start(request.containerId);
      return {};
    },
  );
  handlers.stopContainer = ready<StopContainerRequest, StopContainerResponse>(
    async (request, signal) => {
      await containers.stop(request.containerId, Number(request.timeout), signal);
      return {};
    },
  );
  handlers.removeContainer = ready<RemoveContainerRequest, RemoveContainerResponse>(
    async (request, signal) => {
      await containers.remove(request.containerId, signal);
      return {};
    },
  );
  handlers.listContainers = ready<ListContainersRequest, ListContainersResponse>(
    async (request) => ({ containers: await containers.listContainers(request.filter) }),
  );
  handlers.containerStatus = ready<ContainerStatusRequest, ContainerStatusResponse>(
    async (request) => {
      const { status, info } = await containers.status(request.containerId, request.verbose);
      return { status, info };
    },
  );
  handlers.updateContainerResources = ready<
    UpdateContainerResourcesRequest,
    UpdateContainerResourcesResponse
  >(async (request) => {
    await containers.updateResources(request.containerId, request.linux);
    return {};
  });
  handlers.reopenContainerLog = ready<ReopenContainerLogRequest, ReopenContainerLogResponse>(
    async (request) => {
      await containers.reopenLog(request.containerId);
      return {};
    },
  );
}
