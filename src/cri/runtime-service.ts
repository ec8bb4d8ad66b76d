/**
 * runtime.v1.RuntimeService: Version and Status are answered; Exec, Attach
 * and PortForward hand out streaming URLs when a streaming server is given;
 * every other RPC is UNIMPLEMENTED for now.
 */
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
  type VersionRequest,
  type VersionResponse,
} from './generated/api.js';
import { DEFAULT_CNI_CONF_DIR, networkCondition } from './network-status.js';
import { criStatusFromError } from './pod-errors.js';
import type { PodSandboxes } from './pods.js';
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
  /** Without it, the pod sandbox RPCs are UNIMPLEMENTED. */
  pods?: PodSandboxes;
}

/** A unary handler from an async function: its error becomes the gRPC status. */
function unary<Req, Res>(
  handle: (request: Req) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    handle(call.request).then(
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
  handlers.status = unary<StatusRequest, StatusResponse>(async () => ({
    status: {
      conditions: [
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        await networkCondition(cniConfDir),
      ],
    },
    info: {},
  }));
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
  if (options.pods) servePods(handlers, options.pods);
  return handlers;
}

function servePods(handlers: RuntimeServiceServer, pods: PodSandboxes): void {
  handlers.runPodSandbox = unary<RunPodSandboxRequest, RunPodSandboxResponse>(async (request) => ({
    podSandboxId: await pods.run(request.config, request.runtimeHandler),
  }));
  handlers.stopPodSandbox = unary<StopPodSandboxRequest, StopPodSandboxResponse>(
    async (request) => {
      await pods.stop(request.podSandboxId);
      return {};
    },
  );
  handlers.removePodSandbox = unary<RemovePodSandboxRequest, RemovePodSandboxResponse>(
    async (request) => {
      await pods.remove(request.podSandboxId);
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
