/**
 * A pod's network through CNI: ADD when the sandbox runs, DEL when it stops,
 * CHECK on demand, over the conf dir's network list and the plugin binaries
 * of the bin dirs (Debian's containernetworking-plugins: bridge, host-local,
 * portmap, loopback, ...). Plugins of a list run in order for ADD and CHECK,
 * each handed the previous one's result as `prevResult`, and in reverse for
 * DEL. Each attachment is recorded on disk before its first plugin runs, so a
 * DEL after a restart uses the configuration the ADD used, even if the conf
 * dir changed since; an ADD that fails is undone (DEL of the plugins it ran)
 * and leaves neither interfaces nor IP allocations nor a record behind.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { InvalidArgumentError, validateId } from '../runtime/index.js';
import { loadNetworkList, versionAtLeast, type CniNetworkList } from './cni-config.js';
import { findPlugin, invokePlugin, type CniCommand } from './cni-exec.js';
import { podIps, readResult, type CniResult } from './cni-result.js';
import { AttachmentStore, type AttachmentRecord, type PortMapping } from './cni-store.js';
import { CniAttachmentNotFoundError, CniConfigError } from './network-errors.js';
import { DEFAULT_CNI_BIN_DIRS, DEFAULT_CNI_CONF_DIR } from './network-status.js';
import { KeyedQueue } from './keyed-queue.js';

export { DEFAULT_CNI_CONF_DIR };
export type { PortMapping };
export { DEFAULT_CNI_BIN_DIRS } from './network-status.js';
export const DEFAULT_CNI_PLUGIN_TIMEOUT_MS = 60_000;
export const DEFAULT_IFNAME = 'eth0';

export interface CniOptions {
  /** Where the records of attachments are kept (e.g. `<berthd state>/cni`). */
  stateDir: string;
  confDir?: string;
  binDirs?: readonly string[];
  /** Each plugin call is killed past this. */
  pluginTimeoutMs?: number;
}

export interface AttachmentId {
  /** The sandbox id (CNI_CONTAINERID). */
  containerId: string;
  ifName?: string;
}

export interface Attachment extends AttachmentId {
  /** The pod's network namespace file. */
  netns: string;
  podNamespace?: string;
  podName?: string;
  podUid?: string;
  /** The pause container's id (K8S_POD_INFRA_CONTAINER_ID); the sandbox id when absent. */
  infraContainerId?: string;
  portMappings?: PortMapping[];
}

export interface AddResult extends CniResult {
  /** The pod's addresses, IPv4 first (PodSandboxNetworkStatus ip, additional_ips). */
  podIps: string[];
}

export type CniStatus = { ready: true } | { ready: false; reason: string };

const IFNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
/** CNI_ARGS is `K=V;K=V`: a value holding either separator (or a control character) would forge keys. */
const ARG_VALUE_PATTERN = /^[^;=\p{Cc}]{0,253}$/u;
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

export class CniNetwork {
  readonly confDir: string;
  readonly binDirs: readonly string[];
  readonly #store: AttachmentStore;
  readonly #timeoutMs: number;
  /** One operation at a time per attachment: a DEL racing its own ADD would leak. */
  readonly #queue = new KeyedQueue();

  constructor(options: CniOptions) {
    this.confDir = options.confDir ?? DEFAULT_CNI_CONF_DIR;
    this.binDirs = options.binDirs ?? DEFAULT_CNI_BIN_DIRS;
    this.#store = new AttachmentStore(options.stateDir);
    this.#timeoutMs = options.pluginTimeoutMs ?? DEFAULT_CNI_PLUGIN_TIMEOUT_MS;
  }

  /** Ready when a configuration loads and all its plugins are there; else why not. */
  async status(): Promise<CniStatus> {
    try {
      const network = await loadNetworkList(this.confDir);
      for (const plugin of network.plugins) await findPlugin(plugin.type, this.binDirs);
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: (err as Error).message };
    }
  }

  /** ADDs the pod to the network; on failure everything the ADD did is undone. */
  async add(attachment: Attachment, signal?: AbortSignal): Promise<AddResult> {
    const record = this.#newRecord(attachment);
    return this.#serialized(record, async () => {
      if (await this.#store.load(record.containerId, record.ifName))
        throw new InvalidArgumentError(
          `container ${record.containerId} already has a network attachment on ${record.ifName}`,
        );
      record.network = await loadNetworkList(this.confDir);
      await this.#store.save(record);
      let prevResult: unknown;
      let ran = 0;
      let failedRun = false;
      try {
        for (const plugin of record.network.plugins) {
          const path = await findPlugin(plugin.type, this.binDirs);
          ran++;
          failedRun = true;
          prevResult = await this.#call(path, 'ADD', record, plugin, prevResult, signal);
          failedRun = false;
        }
        // A record that cannot be completed (a full disk) undoes the ADD too: nothing half-known stays.
        await this.#store.save({ ...record, state: 'added', result: prevResult });
      } catch (err) {
        await this.#undoAdd(record, ran, failedRun, prevResult, err);
        throw err;
      }
      const result = readResult(prevResult);
      return { ...result, podIps: podIps(result) };
    });
  }

  /**
   * DELs the pod from the network with the configuration its ADD used. A DEL
   * of an attachment never added (or DELed already) still runs the
   * configured plugins, as the spec has runtimes do, and succeeds. Every
   * plugin is tried even when one fails; the record stays until all succeed,
   * so the DEL can be retried.
   */
  async del(id: AttachmentId & { netns?: string }, signal?: AbortSignal): Promise<void> {
    const containerId = validateId('container id', id.containerId);
    const ifName = checkIfName(id.ifName ?? DEFAULT_IFNAME);
    return this.#serialized({ containerId, ifName }, async () => {
      let record = await this.#store.load(containerId, ifName);
      if (!record) {
        let network: CniNetworkList;
        try {
          network = await loadNetworkList(this.confDir);
        } catch (err) {
          // Nothing recorded and nothing configured: nothing of ours to remove.
          if (err instanceof CniConfigError) return;
          throw err;
        }
        record = { ...this.#newRecord({ containerId, ifName, netns: id.netns ?? '' }), network };
      }
      const errors = await this.#delPlugins(
        record,
        record.network.plugins.length,
        record.result,
        signal,
      );
      const first = errors.values().next();
      if (!first.done) throw first.value;
      await this.#store.remove(containerId, ifName);
    });
  }

  /** CHECKs an added attachment (spec 0.4.0 and later, unless the list disables it). */
  async check(id: AttachmentId, signal?: AbortSignal): Promise<void> {
    const containerId = validateId('container id', id.containerId);
    const ifName = checkIfName(id.ifName ?? DEFAULT_IFNAME);
    return this.#serialized({ containerId, ifName }, async () => {
      const record = await this.#store.load(containerId, ifName);
      if (!record || record.state !== 'added')
        throw new CniAttachmentNotFoundError(
          `no network attachment of container ${containerId} on ${ifName}`,
        );
      if (record.network.disableCheck || !versionAtLeast(record.network.cniVersion, '0.4.0'))
        return;
      for (const plugin of record.network.plugins) {
        const path = await findPlugin(plugin.type, this.binDirs);
        await this.#call(path, 'CHECK', record, plugin, record.result, signal);
      }
    });
  }

  /** The recorded attachments (a restarted berthd's view), including ADDs cut short. */
  attachments(): Promise<AttachmentRecord[]> {
    return this.#store.list();
  }

  /** The result recorded for an attachment, if its ADD completed. */
  async result(id: AttachmentId): Promise<AddResult | undefined> {
    const containerId = validateId('container id', id.containerId);
    const record = await this.#store.load(containerId, checkIfName(id.ifName ?? DEFAULT_IFNAME));
    if (!record || record.state !== 'added') return undefined;
    const result = readResult(record.result);
    return { ...result, podIps: podIps(result) };
  }

  #newRecord(a: Attachment): AttachmentRecord {
    const containerId = validateId('container id', a.containerId);
    const ifName = checkIfName(a.ifName ?? DEFAULT_IFNAME);
    const args: Array<[string, string]> = [['IgnoreUnknown', '1']];
    if (a.podNamespace !== undefined) args.push(['K8S_POD_NAMESPACE', a.podNamespace]);
    if (a.podName !== undefined) args.push(['K8S_POD_NAME', a.podName]);
    args.push(['K8S_POD_INFRA_CONTAINER_ID', a.infraContainerId ?? containerId]);
    if (a.podUid !== undefined) args.push(['K8S_POD_UID', a.podUid]);
    for (const [key, value] of args) {
      if (!ARG_VALUE_PATTERN.test(value))
        throw new InvalidArgumentError(`invalid ${key} ${JSON.stringify(value.slice(0, 80))}`);
    }
    const capabilityArgs: Record<string, unknown> = {};
    // The kubelet sends container ports with no host port too: only those with one are mapped (containerd's rule).
    const mapped = (a.portMappings ?? []).map(checkPortMapping).filter((m) => m.hostPort > 0);
    if (mapped.length > 0) capabilityArgs.portMappings = mapped;
    return {
      containerId,
      ifName,
      netns: a.netns,
      args,
      capabilityArgs,
      network: { name: '', cniVersion: '', disableCheck: false, plugins: [], source: '' },
      state: 'adding',
    };
  }

  /**
   * DELs the first `count` plugins in reverse, the ADD's own cleanup. The
   * record goes once every plugin whose ADD succeeded is DELed; it stays
   * (`adding`) for a later del() to retry otherwise. The plugin whose ADD
   * failed (the last, when `lastFailed`) is DELed too, but its refusal does
   * not keep the record: a plugin cleans up its own failed ADD (bridge
   * releases its IPAM allocation), and a configuration it rejects on ADD it
   * rejects on every DEL as well, which would make the pod unremovable.
   */
  async #undoAdd(
    record: AttachmentRecord,
    count: number,
    lastFailed: boolean,
    prevResult: unknown,
    cause: unknown,
  ): Promise<void> {
    const errors = await this.#delPlugins(record, count, prevResult, undefined);
    const blocking = [...errors].filter(([index]) => !(lastFailed && index === count - 1));
    const shown = blocking[0]?.[1] ?? errors.get(count - 1);
    if (shown !== undefined) (cause as Error & { cleanupError?: unknown }).cleanupError = shown;
    if (blocking.length === 0) await this.#store.remove(record.containerId, record.ifName);
  }

  /** DELs the first `count` plugins in reverse, every one even when some fail; their errors by index. */
  async #delPlugins(
    record: AttachmentRecord,
    count: number,
    prevResult: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Map<number, unknown>> {
    const errors = new Map<number, unknown>();
    for (let index = count - 1; index >= 0; index--) {
      const plugin = record.network.plugins[index]!;
      try {
        const path = await findPlugin(plugin.type, this.binDirs);
        await this.#call(path, 'DEL', record, plugin, prevResult, signal);
      } catch (err) {
        errors.set(index, err);
      }
    }
    return errors;
  }

  #call(
    path: string,
    command: CniCommand,
    record: AttachmentRecord,
    plugin: CniNetworkList['plugins'][number],
    prevResult: unknown,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const config: Record<string, unknown> = {
      ...plugin,
      name: record.network.name,
      cniVersion: record.network.cniVersion,
    };
    if (prevResult !== undefined) config.prevResult = prevResult;
    const runtimeConfig = Object.fromEntries(
      Object.entries(record.capabilityArgs).filter(([cap]) => plugin.capabilities?.[cap] === true),
    );
    if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
    // A DEL after the namespace is gone passes none: the plugins then release what is outside it.
    const netns = command === 'DEL' && !existsSync(record.netns) ? '' : record.netns;
    return invokePlugin(path, {
      command,
      containerId: record.containerId,
      netns,
      ifName: record.ifName,
      args: record.args,
      binDirs: this.binDirs,
      config,
      timeoutMs: this.#timeoutMs,
      signal,
    });
  }

  #serialized<T>(id: { containerId: string; ifName: string }, run: () => Promise<T>): Promise<T> {
    return this.#queue.run(`${id.containerId}@${id.ifName}`, run);
  }
}

function checkIfName(ifName: string): string {
  if (!IFNAME_PATTERN.test(ifName))
    throw new InvalidArgumentError(
      `invalid interface name ${JSON.stringify(ifName.slice(0, 40))}: must match ${IFNAME_PATTERN.source}`,
    );
  return ifName;
}

function checkPortMapping(m: PortMapping): PortMapping {
  const port = (p: number) => Number.isInteger(p) && p > 0 && p < 65536;
  const hostPortOk = m.hostPort === 0 || port(m.hostPort);
  if (!hostPortOk || !port(m.containerPort) || !PROTOCOLS.has(m.protocol))
    throw new InvalidArgumentError(`invalid port mapping ${JSON.stringify(m)}`);
  if (m.hostIP !== undefined && m.hostIP !== '' && isIP(m.hostIP) === 0)
    throw new InvalidArgumentError(`invalid host IP in port mapping ${JSON.stringify(m)}`);
  return {
    hostPort: m.hostPort,
    containerPort: m.containerPort,
    protocol: m.protocol,
    ...(m.hostIP ? { hostIP: m.hostIP } : {}),
  };
}
