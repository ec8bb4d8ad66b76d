/**
 * The CNI network configuration, found as libcni and go-cni find it: the
 * first `.conf`, `.conflist` or `.json` file of the conf dir by name. A
 * `.conflist` holds a chain of plugins; a single-plugin `.conf` is read as a
 * list of one (libcni's ConfListFromConf). A first file that does not parse
 * is an error, not skipped (go-cni's rule), so a typo is seen, not hidden.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cniConfigFiles } from './network-status.js';
import { CniConfigError } from './network-errors.js';

/** One plugin's configuration, as the file has it (`type` names the binary). */
export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniNetworkList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  plugins: CniPluginConf[];
  /** The file it was read from. */
  source: string;
}

/** The network list berth uses: the conf dir's first configuration file. */
export async function loadNetworkList(confDir: string): Promise<CniNetworkList> {
  const files = await cniConfigFiles(confDir);
  const first = files[0];
  if (first === undefined) throw new CniConfigError(`no network config found in ${confDir}`);
  const source = join(confDir, first);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    throw new CniConfigError(`cannot read ${source}: ${(err as Error).message}`, { cause: err });
  }
  return parseNetworkList(text, source);
}

/** A `.conflist` (or, for any other name, a single plugin's `.conf`) checked as libcni checks it. */
export function parseNetworkList(text: string, source: string): CniNetworkList {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CniConfigError(`${source}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(json)) throw new CniConfigError(`${source}: not a JSON object`);
  const list = source.endsWith('.conflist') ? json : { ...pick(json), plugins: [json] };
  const name = list.name;
  if (typeof name !== 'string' || name === '')
    throw new CniConfigError(`${source}: no network name`);
  const cniVersion = typeof list.cniVersion === 'string' ? list.cniVersion : '0.1.0';
  if (!/^\d+\.\d+\.\d+$/.test(cniVersion))
    throw new CniConfigError(`${source}: invalid cniVersion ${JSON.stringify(cniVersion)}`);
  const plugins = list.plugins;
  if (!Array.isArray(plugins) || plugins.length === 0)
    throw new CniConfigError(`${source}: no plugins in network ${name}`);
  return {
    name,
    cniVersion,
    disableCheck: list.disableCheck === true,
    plugins: plugins.map((plugin, i) => checkPlugin(plugin, `${source}: plugin ${i}`)),
    source,
  };
}

/** Whether `version` (x.y.z) is at least `min`. */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

function checkPlugin(plugin: unknown, where: string): CniPluginConf {
  if (!isObject(plugin)) throw new CniConfigError(`${where}: not a JSON object`);
  const type = plugin.type;
  // The type becomes a file name looked up in the bin dirs.
  if (typeof type !== 'string' || type === '' || basename(type) !== type || type.startsWith('.'))
    throw new CniConfigError(`${where}: invalid plugin type ${JSON.stringify(type)}`);
  if (plugin.capabilities !== undefined && !isObject(plugin.capabilities))
    throw new CniConfigError(`${where}: capabilities is not an object`);
  return plugin as CniPluginConf;
}

function pick(conf: Record<string, unknown>): Record<string, unknown> {
  return { name: conf.name, cniVersion: conf.cniVersion };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
