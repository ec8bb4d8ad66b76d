/**
 * One CRI client for both runtimes of bench/cri.ts: the generated grpc-js
 * client (src/cri/generated), promise-returning, each call with a deadline.
 * The same code talks to berthd and to containerd, so that the figures
 * measure the runtimes, not two clients.
 */
import { credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  ContainerState,
  ContainerStatusRequest,
  CreateContainerRequest,
  ImageServiceClient,
  ListPodSandboxRequest,
  PodSandboxStatusRequest,
  PullImageRequest,
  RemovePodSandboxRequest,
  RunPodSandboxRequest,
  StartContainerRequest,
  StopPodSandboxRequest,
  VersionRequest,
  PodSandboxState,
  RuntimeServiceClient,
  type ContainerConfig,
  type PodSandboxConfig,
  type VersionResponse,
} from '../src/cri/generated/api.js';

type Callback<Res> = (err: ServiceError | null, response: Res) => void;
type Method = (
  request: unknown,
  metadata: unknown,
  options: unknown,
  cb: Callback<unknown>,
) => void;

/** A call that failed with UNIMPLEMENTED: the runtime lacks the RPC. */
export function isUnimplemented(err: unknown): boolean {
  return (err as Partial<ServiceError> | undefined)?.code === grpcStatus.UNIMPLEMENTED;
}

export class CriClient {
  readonly #runtime: InstanceType<typeof RuntimeServiceClient>;
  readonly #images: InstanceType<typeof ImageServiceClient>;
  readonly #deadlineMs: number;

  constructor(address: string, { deadlineMs = 120_000 }: { deadlineMs?: number } = {}) {
    const options = {
      'grpc.initial_reconnect_backoff_ms': 10,
      'grpc.max_reconnect_backoff_ms': 100,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    };
    this.#runtime = new RuntimeServiceClient(address, credentials.createInsecure(), options);
    this.#images = new ImageServiceClient(address, credentials.createInsecure(), options);
    this.#deadlineMs = deadlineMs;
  }

  #call<Res>(client: object, method: string, request: object): Promise<Res> {
    const fn = (client as Record<string, Method>)[method]!;
    return new Promise((resolve, reject) => {
      fn.call(
        client,
        request,
        new Metadata(),
        { deadline: Date.now() + this.#deadlineMs },
        (err: ServiceError | null, response: unknown) =>
          err ? reject(err) : resolve(response as Res),
      );
    });
  }

  version(): Promise<VersionResponse> {
    return this.#call(this.#runtime, 'version', VersionRequest.fromPartial({}));
  }

  async pullImage(image: string): Promise<string> {
    const response = await this.#call<{ imageRef: string }>(
      this.#images,
      'pullImage',
      PullImageRequest.fromPartial({ image: { image } }),
    );
    return response.imageRef;
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const response = await this.#call<{ podSandboxId: string }>(
      this.#runtime,
      'runPodSandbox',
      RunPodSandboxRequest.fromPartial({ config }),
    );
    return response.podSandboxId;
  }

  async podReady(podSandboxId: string): Promise<boolean> {
    const response = await this.#call<{ status?: { state: PodSandboxState } }>(
      this.#runtime,
      'podSandboxStatus',
      PodSandboxStatusRequest.fromPartial({ podSandboxId }),
    );
    return response.status?.state === PodSandboxState.SANDBOX_READY;
  }

  async createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
  ): Promise<string> {
    const response = await this.#call<{ containerId: string }>(
      this.#runtime,
      'createContainer',
      CreateContainerRequest.fromPartial({ podSandboxId, config, sandboxConfig }),
    );
    return response.containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.#call(
      this.#runtime,
      'startContainer',
      StartContainerRequest.fromPartial({ containerId }),
    );
  }

  async containerState(containerId: string): Promise<ContainerState | undefined> {
    const response = await this.#call<{ status?: { state: ContainerState } }>(
      this.#runtime,
      'containerStatus',
      ContainerStatusRequest.fromPartial({ containerId }),
    );
    return response.status?.state;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.#call(
      this.#runtime,
      'stopPodSandbox',
      StopPodSandboxRequest.fromPartial({ podSandboxId }),
    );
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.#call(
      this.#runtime,
      'removePodSandbox',
      RemovePodSandboxRequest.fromPartial({ podSandboxId }),
    );
  }

  async listPodSandboxIds(): Promise<string[]> {
    const response = await this.#call<{ items: { id: string }[] }>(
      this.#runtime,
      'listPodSandbox',
      ListPodSandboxRequest.fromPartial({}),
    );
    return response.items.map((item) => item.id);
  }

  close(): void {
    this.#runtime.close();
    this.#images.close();
  }
}
