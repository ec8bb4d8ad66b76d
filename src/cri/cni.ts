/**
 * Pod networking through CNI plugins (the container network interface,
 * spec 1.0 and the 0.3/0.4 results): a network configuration list from the
 * CNI config dir, its plugins run in order for ADD and CHECK and in reverse
 * for DEL, each given the previous one's result, with the capabilities it
 * declares (port mappings for portmap) as runtimeConfig, as libcni does.
 * ADD's result is kept in a cache file so that CHECK and DEL get it as their
 * prevResult; DEL is idempotent (no cache: the plugins clean up what is
 * there), and a failed ADD is undone by a DEL.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { BerthError, InvalidArgumentError, isErrnoException } from '../runtime/index.js';
import { cniConfigFiles } from './network-status.js';

/** Debian's containernetworking-plugins, then the upstream default. */
export const DEFAULT_CNI_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
/** How long one plugin may run. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 60_000;
/** Most bytes a plugin's answer may have. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

export class CniConfigError extends BerthError {
  readonly code = 'ERR_CNI_CONFIG';
}

export class CniPluginNotFoundError extends BerthError {
  readonly code = 'ERR_CNI_PLUGIN_NOT_FOUND';
}

/** A plugin's own error (CNI's error result: code, msg, details), or its crash. */
export class CniPluginError extends BerthError {
  readonly code = 'ERR_CNI_PLUGIN';
  constructor(
    message: string,
    readonly plugin: string,
    readonly cniCode: number | undefined,
    readonly details: string | undefined,
  ) {
    super(message);
  }
}

export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniNetworkList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConf[];
}

export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

export interface CniAttachment {
  /** The pod sandbox's id. */
  containerId: string;
  /** The network namespace's path (e.g. /var/run/netns/<name>). */
  netns: string;
  /** The interface made in the namespace (default eth0). */
  ifName?: string;
  /** CNI_ARGS, e.g. K8S_POD_NAMESPACE and K8S_POD_NAME. */
  args?: Record<string, string>;
  /** Capability arguments, given to the plugins that declare them. */
  capabilityArgs?: { portMappings?: CniPortMapping[] };
}

export interface CniIpConfig {
  /** CIDR form, e.g. 10.88.0.5/16. */
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniResult {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: CniIpConfig[];
  /** The whole answer, as the last plugin gave it. */
  raw: Record<string, unknown>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkName(what: string, value: unknown, max = 253): string {
  if (typeof value !== 'string' || value.length > max || !NAME.test(value)) {
    throw new InvalidArgumentError(
      `${what} must be letters, digits, '_', '.', '-' (at most ${max}), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checkAttachment(
  attachment: CniAttachment,
): Required<Omit<CniAttachment, 'capabilityArgs'>> {
  checkName('container id', attachment.containerId);
  const ifName = attachment.ifName ?? 'eth0';
  // Linux's IFNAMSIZ less the NUL; '/' and whitespace have no place in a name.
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifName) || ifName === '.' || ifName === '..') {
    throw new InvalidArgumentError(
      `interface name ${JSON.stringify(ifName)} is not a valid Linux name`,
    );
  }
  if (
    typeof attachment.netns !== 'string' ||
    !isAbsolute(attachment.netns) ||
    attachment.netns.includes('\0')
  ) {
    throw new InvalidArgumentError(
      `netns must be an absolute path, got ${JSON.stringify(attachment.netns)}`,
    );
  }
  const args = attachment.args ?? {};
  for (const [key, value] of Object.entries(args)) {
    if (!/^[A-Za-z0-9_]+$/.test(key) || /[;=\0]/.test(value)) {
      throw new InvalidArgumentError(`CNI argument ${JSON.stringify(key)} is not a KEY=value pair`);
    }
  }
  return { containerId: attachment.containerId, netns: attachment.netns, ifName, args };
}

/** A network configuration list (.conflist), or a single plugin's (.conf, .json) as a list of one. */
export function parseNetworkConfig(text: string, source: string): CniNetworkList {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CniConfigError(`${source}: not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CniConfigError(`${source}: a network configuration is a JSON object`);
  }
  const conf = parsed as Record<string, unknown>;
  const plugins = Array.isArray(conf.plugins) ? (conf.plugins as unknown[]) : [conf];
  if (plugins.length === 0) throw new CniConfigError(`${source}: no plugins`);
  for (const plugin of plugins) {
    const type = (plugin as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !NAME.test(type)) {
      throw new CniConfigError(
        `${source}: a plugin's type must be a plain name, got ${JSON.stringify(type)}`,
      );
    }
  }
  try {
    checkName('network name', conf.name);
  } catch (err) {
    throw new CniConfigError(`${source}: ${(err as Error).message}`);
  }
  if (typeof conf.cniVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(conf.cniVersion)) {
    throw new CniConfigError(
      `${source}: cniVersion must be like 1.0.0, got ${JSON.stringify(conf.cniVersion)}`,
    );
  }
  return {
    cniVersion: conf.cniVersion,
    name: conf.name as string,
    disableCheck: conf.disableCheck === true,
    plugins: plugins.map((plugin) => {
      const {
        name: _name,
        cniVersion: _version,
        ...rest
      } = plugin as CniPluginConf & {
        name?: unknown;
        cniVersion?: unknown;
      };
      return rest;
    }),
  };
}

/** The network the CRI sets pods up on: the first configuration in `confDir`, by name (libcni's choice). */
export async function loadDefaultNetwork(confDir: string): Promise<CniNetworkList> {
  const files = await cniConfigFiles(confDir);
  if (files.length === 0) throw new CniConfigError(`no network configuration found in ${confDir}`);
  const path = join(confDir, files[0]!);
  return parseNetworkConfig(await readFile(path, 'utf8'), path);
}

function versionAtLeast(version: string, minimum: string): boolean {
  const [a, b] = [version, minimum].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (a![i] !== b![i]) return a![i]! > b![i]!;
  return true;
}

/** A result of any supported version as 1.0's shape (0.1/0.2 had ip4/ip6 objects). */
export function parseResult(raw: unknown, plugin: string): CniResult {
  if (typeof raw !== 'object' || raw === null) {
    throw new CniPluginError(`plugin ${plugin} answered no result`, plugin, undefined, undefined);
  }
  const result = raw as Record<string, unknown>;
  const legacy = (key: string) => {
    const ip = (result[key] as { ip?: string; gateway?: string } | undefined) ?? undefined;
    return ip?.ip ? [{ address: ip.ip, ...(ip.gateway ? { gateway: ip.gateway } : {}) }] : [];
  };
  const ips = Array.isArray(result.ips)
    ? (result.ips as CniIpConfig[]).filter((ip) => typeof ip?.address === 'string')
    : [...legacy('ip4'), ...legacy('ip6')];
  return {
    cniVersion: typeof result.cniVersion === 'string' ? result.cniVersion : '',
    interfaces: Array.isArray(result.interfaces)
      ? (result.interfaces as CniResult['interfaces'])
      : [],
    ips,
    raw: result,
  };
}

/** The pod's IP: the first address on an interface in the sandbox (or the first at all), without its prefix. */
export function podIp(result: CniResult): string | undefined {
  const inSandbox = result.ips.find(
    (ip) => ip.interface !== undefined && Boolean(result.interfaces[ip.interface]?.sandbox),
  );
  return (inSandbox ?? result.ips[0])?.address.split('/')[0];
}

export interface CniOptions {
  pluginDirs?: string[];
  /** Where ADD results are kept for CHECK and DEL. */
  cacheDir: string;
  timeoutMs?: number;
}

type Command = 'ADD' | 'CHECK' | 'DEL';

export class CniNetwork {
  readonly #pluginDirs: string[];
  readonly #cacheDir: string;
  readonly #timeoutMs: number;

  constructor(
    readonly config: CniNetworkList,
    options: CniOptions,
  ) {
    this.#pluginDirs = options.pluginDirs ?? DEFAULT_CNI_PLUGIN_DIRS;
    this.#cacheDir = options.cacheDir;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
    if (!isAbsolute(this.#cacheDir))
      throw new InvalidArgumentError('the CNI cache dir must be absolute');
  }

  /** Connects the namespace to the network; a failure is undone before it is thrown. */
  async add(attachment: CniAttachment, signal?: AbortSignal): Promise<CniResult> {
    const checked = checkAttachment(attachment);
    let previous: Record<string, unknown> | undefined;
    try {
      for (const plugin of this.config.plugins) {
        previous = await this.#run('ADD', plugin, attachment, checked, previous, signal);
      }
    } catch (err) {
      await this.del(attachment).catch(() => {});
      throw err;
    }
    const result = parseResult(previous, this.config.plugins.at(-1)!.type);
    await this.#writeCache(checked, result.raw);
    return result;
  }

  /** Asks every plugin whether the namespace is still set up as ADD left it (CNI 0.4.0 and later). */
  async check(attachment: CniAttachment, signal?: AbortSignal): Promise<void> {
    const checked = checkAttachment(attachment);
    if (!versionAtLeast(this.config.cniVersion, '0.4.0') || this.config.disableCheck) return;
    const cached = await this.#readCache(checked);
    if (!cached) {
      throw new CniPluginError(
        `no ADD result for ${checked.containerId} on ${this.config.name}: nothing to check`,
        this.config.plugins[0]!.type,
        undefined,
        undefined,
      );
    }
    for (const plugin of this.config.plugins) {
      await this.#run('CHECK', plugin, attachment, checked, cached, signal);
    }
  }

  /** Disconnects the namespace; idempotent, also for a namespace already gone. */
  async del(attachment: CniAttachment, signal?: AbortSignal): Promise<void> {
    const checked = checkAttachment(attachment);
    const cached = await this.#readCache(checked);
    // Every plugin gets its DEL, whatever the others did: the first failure is thrown after.
    let firstError: unknown;
    for (const plugin of [...this.config.plugins].reverse()) {
      await this.#run('DEL', plugin, attachment, checked, cached, signal).catch((err: unknown) => {
        firstError ??= err;
      });
    }
    if (firstError !== undefined) throw firstError;
    await rm(this.#cachePath(checked), { force: true });
  }

  #cachePath(checked: { containerId: string; ifName: string }): string {
    return join(
      this.#cacheDir,
      `${this.config.name}-${checked.containerId}-${checked.ifName}.json`,
    );
  }

  async #writeCache(
    checked: { containerId: string; ifName: string },
    result: unknown,
  ): Promise<void> {
    await mkdir(this.#cacheDir, { recursive: true, mode: 0o700 });
    const path = this.#cachePath(checked);
    await writeFile(`${path}.tmp`, JSON.stringify(result), { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  }

  async #readCache(checked: {
    containerId: string;
    ifName: string;
  }): Promise<Record<string, unknown> | undefined> {
    try {
      return JSON.parse(await readFile(this.#cachePath(checked), 'utf8')) as Record<
        string,
        unknown
      >;
    } catch (err) {
      if (isErrnoException(err, 'ENOENT') || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  async #pluginPath(type: string): Promise<string> {
    for (const dir of this.#pluginDirs) {
      const path = join(dir, type);
      try {
        await access(path, constants.X_OK);
        return path;
      } catch {
        // Not in this one.
      }
    }
    throw new CniPluginNotFoundError(
      `CNI plugin ${type} not found in ${this.#pluginDirs.join(', ')} (Debian: containernetworking-plugins)`,
    );
  }

  /** One plugin, one command: its config on stdin, its answer on stdout. */
  async #run(
    command: Command,
    plugin: CniPluginConf,
    attachment: CniAttachment,
    checked: ReturnType<typeof checkAttachment>,
    prevResult: Record<string, unknown> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Record<string, unknown> | undefined> {
    const path = await this.#pluginPath(plugin.type);
    const { capabilities, ...rest } = plugin;
    const runtimeConfig: Record<string, unknown> = {};
    if (capabilities?.portMappings && attachment.capabilityArgs?.portMappings) {
      runtimeConfig.portMappings = attachment.capabilityArgs.portMappings;
    }
    const config = {
      ...rest,
      ...(capabilities ? { capabilities } : {}),
      name: this.config.name,
      cniVersion: this.config.cniVersion,
      ...(prevResult ? { prevResult } : {}),
      ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: checked.containerId,
      CNI_NETNS: checked.netns,
      CNI_IFNAME: checked.ifName,
      CNI_PATH: this.#pluginDirs.join(':'),
      // IgnoreUnknown: plugins refuse arguments they do not know otherwise (containerd sets it too).
      ...(Object.keys(checked.args).length
        ? {
            CNI_ARGS: [
              'IgnoreUnknown=1',
              ...Object.entries(checked.args).map(([k, v]) => `${k}=${v}`),
            ].join(';'),
          }
        : {}),
    };
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const { status, stdout, stderr } = await runPlugin(
      path,
      env,
      JSON.stringify(config),
      signal ? AbortSignal.any([signal, timeout]) : timeout,
    );
    let answer: Record<string, unknown> | undefined;
    if (stdout.trim() !== '') {
      try {
        answer = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        answer = undefined;
      }
    }
    if (status !== 0) {
      const msg =
        typeof answer?.msg === 'string' ? answer.msg : stderr.trim() || `exit status ${status}`;
      const details = typeof answer?.details === 'string' ? answer.details : undefined;
      throw new CniPluginError(
        `CNI plugin ${plugin.type} ${command} failed: ${msg}${details ? ` (${details})` : ''}`,
        plugin.type,
        typeof answer?.code === 'number' ? answer.code : undefined,
        details,
      );
    }
    // ADD passes its result on; CHECK and DEL answer nothing, and the next gets the cached one.
    return command === 'ADD' ? answer : prevResult;
  }
}

function runPlugin(
  path: string,
  env: NodeJS.ProcessEnv,
  input: string,
  signal: AbortSignal,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env, stdio: ['pipe', 'pipe', 'pipe'], signal });
    let stdout = '';
    let stderr = '';
    let bytes = 0;
    const take = (append: (text: string) => void) => (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else append(chunk.toString());
    };
    child.stdout.on(
      'data',
      take((text) => (stdout += text)),
    );
    child.stderr.on(
      'data',
      take((text) => (stderr += text)),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.once('error', (err) =>
      reject(
        err.name === 'AbortError'
          ? new CniPluginError(
              `CNI plugin ${path} did not finish in time`,
              path,
              undefined,
              undefined,
            )
          : err,
      ),
    );
    child.once('close', (code, sig) =>
      resolve({ status: code ?? (sig ? 128 : 1), stdout, stderr }),
    );
  });
}
