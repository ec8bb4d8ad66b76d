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
} from './generated/api.js';
import { DEFAULT_CNI_CONF_DIR, networkCondition } from './network-status.js';
import { criStatusFromError } from './pod-errors.js';
import type { ImageStore } from '../images/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import { CniNetwork } from './cni.js';
import { DEFAULT_NETNS_DIR, NetnsStore } from './netns.js';
import { PodNetworks } from './pod-network.js';
import { PodSandboxes } from './pods.js';
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
  if (pods) servePods(handlers, pods);
  return handlers;
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
