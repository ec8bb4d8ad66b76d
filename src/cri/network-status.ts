/**
 * Whether the pod network can be set up: the kubelet waits for the CRI's
 * NetworkReady condition before it starts pods that are not on the host
 * network, and reads its reason and message when it is false.
 */
import { readdir } from 'node:fs/promises';
import { isErrnoException } from '../runtime/index.js';
import type { RuntimeCondition } from './generated/api.js';

/** Where CNI network configurations are looked for (the kubelet's and containerd's default). */
export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';
/** Debian's containernetworking-plugins, then the upstream tarball's place. */
export const DEFAULT_CNI_BIN_DIRS: readonly string[] = ['/usr/lib/cni', '/opt/cni/bin'];

/** The file names libcni loads as network configurations. */
const CNI_CONF_EXTENSIONS = ['.conf', '.conflist', '.json'];

/** The reason the kubelet expects when the network is not ready (containerd's and CRI-O's). */
export const NETWORK_NOT_READY_REASON = 'NetworkPluginNotReady';

/** The CNI configuration files in `dir`, sorted as libcni sorts them (by name). */
export async function cniConfigFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ENOTDIR')) return [];
    throw err;
  }
  return names.filter((name) => CNI_CONF_EXTENSIONS.some((ext) => name.endsWith(ext))).sort();
}

/** The NetworkReady condition: true once a CNI configuration is there. */
export async function networkCondition(cniConfDir: string): Promise<RuntimeCondition> {
  const files = await cniConfigFiles(cniConfDir);
  if (files.length > 0) return { type: 'NetworkReady', status: true, reason: '', message: '' };
  return {
    type: 'NetworkReady',
    status: false,
    reason: NETWORK_NOT_READY_REASON,
    message: `Network plugin returns error: cni plugin not initialized: no network config found in ${cniConfDir}`,
  };
}
