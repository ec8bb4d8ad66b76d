/**
 * A pod sandbox's network as RunPodSandbox and StopPodSandbox /
 * RemovePodSandbox need it: a named network namespace plus its CNI
 * attachment. Setting up either makes both or leaves neither (no namespace,
 * no interface, no IP allocation, no record); tearing down is idempotent and
 * works from what is on disk, so a restarted berthd tears down what an
 * earlier one set up.
 */
import type { AddResult, Attachment, CniNetwork } from './cni.js';
import type { NetnsStore } from './netns.js';

export interface PodNetworkRequest extends Omit<Attachment, 'netns' | 'containerId'> {
  /** The sandbox id: the namespace's name and CNI_CONTAINERID. */
  sandboxId: string;
}

export interface PodNetwork {
  netns: string;
  result: AddResult;
}

export class PodNetworks {
  constructor(
    readonly namespaces: NetnsStore,
    readonly cni: CniNetwork,
  ) {}

  async setUp(request: PodNetworkRequest, signal?: AbortSignal): Promise<PodNetwork> {
    const { sandboxId, ...rest } = request;
    const netns = await this.namespaces.create(sandboxId, signal);
    try {
      const result = await this.cni.add({ ...rest, containerId: sandboxId, netns }, signal);
      return { netns, result };
    } catch (err) {
      // cni.add undid its own part; the namespace is ours to remove.
      await this.namespaces.remove(sandboxId).catch(() => undefined);
      throw err;
    }
  }

  /** DEL (while the namespace still exists, so the plugins can clean inside it), then the namespace. */
  async tearDown(sandboxId: string, ifName?: string, signal?: AbortSignal): Promise<void> {
    const netns = this.namespaces.path(sandboxId);
    await this.cni.del({ containerId: sandboxId, netns, ...(ifName ? { ifName } : {}) }, signal);
    await this.namespaces.remove(sandboxId, signal);
  }
}
