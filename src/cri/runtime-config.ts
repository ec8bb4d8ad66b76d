/**
 * UpdateRuntimeConfig: the node's pod CIDR(s) the kubelet hands the runtime
 * (from the Node's spec.podCIDRs; two for dual stack, comma-separated).
 * containerd writes them into a CNI conf only when a conf template is
 * configured, and otherwise only keeps them; berth has no conf template (the
 * conf in --cni-conf-dir is the operator's, and its IPAM ranges decide the
 * pods' addresses): it keeps them, on disk so that a restarted berthd still
 * knows them (the kubelet sends them again only when they change), and
 * reports them in Status' verbose info.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { InvalidArgumentError } from '../runtime/index.js';
import type { RuntimeConfig } from './generated/api.js';

/** Where the pod CIDRs are kept, under the CRI state dir. */
export const RUNTIME_CONFIG_FILE = 'runtime-config.json';

/** One CIDR (`10.244.1.0/24`, `fd00:1::/64`): an address and a prefix length its family allows. */
function isCidr(text: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return false;
  const family = isIP(match[1]!);
  const prefix = Number(match[2]);
  return (family === 4 && prefix <= 32) || (family === 6 && prefix <= 128);
}

/**
 * The pod CIDRs of `network_config.pod_cidr`: none for an empty one (the
 * kubelet's "no CIDR yet"), else one or two CIDRs separated by commas.
 * Throws InvalidArgumentError naming what is wrong.
 */
export function parsePodCidrs(text: string): string[] {
  if (text.trim() === '') return [];
  const cidrs = text.split(',').map((part) => part.trim());
  const bad = cidrs.find((cidr) => !isCidr(cidr));
  if (bad !== undefined || cidrs.length > 2) {
    throw new InvalidArgumentError(
      `UpdateRuntimeConfig: pod_cidr ${JSON.stringify(text.slice(0, 200))} must be one CIDR, or two (IPv4,IPv6) separated by a comma` +
        (bad !== undefined ? `: ${JSON.stringify(bad.slice(0, 100))} is not a CIDR` : ''),
    );
  }
  return cidrs;
}

/** The runtime config a berthd keeps: its pod CIDRs, in memory and (with a dir) on disk. */
export class RuntimeConfigState {
  #podCidrs: string[] = [];
  readonly #file: string | undefined;
  #loaded: Promise<void> | undefined;
  /** Updates one after another: two at once must not share the temp file. */
  #updates: Promise<void> = Promise.resolve();

  /** Kept in `criStateDir` (none: in memory only); read at first use. */
  constructor(criStateDir?: string) {
    this.#file = criStateDir === undefined ? undefined : join(criStateDir, RUNTIME_CONFIG_FILE);
  }

  async #load(): Promise<void> {
    if (!this.#file) return;
    try {
      const saved = JSON.parse(await readFile(this.#file, 'utf8')) as { podCIDRs?: unknown };
      if (Array.isArray(saved.podCIDRs)) {
        this.#podCidrs = parsePodCidrs(
          saved.podCIDRs.filter((c): c is string => typeof c === 'string').join(','),
        );
      }
    } catch {
      // Never set, or damaged: the kubelet sets it again when the node's CIDR changes.
    }
  }

  async podCidrs(): Promise<readonly string[]> {
    await (this.#loaded ??= this.#load());
    return this.#podCidrs;
  }

  /** UpdateRuntimeConfig: an empty pod CIDR changes nothing (containerd's rule too). */
  async update(config: RuntimeConfig | undefined): Promise<void> {
    const cidrs = parsePodCidrs(config?.networkConfig?.podCidr ?? '');
    const done = this.#updates.then(() => this.#save(cidrs));
    this.#updates = done.catch(() => {});
    return done;
  }

  async #save(cidrs: string[]): Promise<void> {
    await (this.#loaded ??= this.#load());
    if (cidrs.length === 0) return;
    if (this.#file) {
      const temp = `${this.#file}.tmp`;
      await writeFile(temp, `${JSON.stringify({ podCIDRs: cidrs })}\n`, { mode: 0o600 });
      await rename(temp, this.#file);
    }
    this.#podCidrs = cidrs;
  }

  /** Status' verbose info entry (crictl info prints it parsed). */
  async verboseInfo(): Promise<Record<string, string>> {
    return { runtimeConfig: JSON.stringify({ podCIDRs: await this.podCidrs() }) };
  }
}
