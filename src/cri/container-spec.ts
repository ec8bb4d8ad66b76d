/**
 * CreateContainer's config checked, and the container's bundle config made
 * from its image's (createImageBundle) by the CRI's rules: command replaces
 * the Entrypoint, args the Cmd; env, working dir and tty on top; the pod's
 * namespaces joined (network, IPC, UTS from the pause container or the
 * netns file; PID per `namespace_options.pid`), the pod's files bind-mounted,
 * `cgroupsPath = <pod cgroup parent>/<id>`; then the Linux config
 * (container-linux.ts) and the mounts (container-mounts.ts). Every check
 * runs before anything is made.
 */
import { constants } from 'node:os';
import { posix } from 'node:path';
import { readImageFile, type ImageOverrides, type RunnableImageConfig } from '../images/index.js';
import type { BundleConfig } from '../runtime/index.js';
import { NamespaceMode, type ContainerConfig } from './generated/api.js';
import { applyLinuxContainerConfig } from './container-linux.js';
import { applyMounts } from './container-mounts.js';
import { InvalidContainerConfigError } from './container-errors.js';
import type { PodFiles } from './pod-files.js';
import type { PodRecord } from './sandbox-store.js';

/**
 * What the Linux config and mounts (container-linux.ts, container-mounts.ts)
 * may need beyond the spec and the request.
 */
export interface ContainerSpecContext {
  /** The container's id: its cgroup leaf, its supervisor id. */
  containerId: string;
  /** The image's config (User, Env, Entrypoint/Cmd, WorkingDir, StopSignal...). */
  imageConfig: RunnableImageConfig;
  /** The image's unpacked layer folders, lowest first (user and group names: resolveImageUser). */
  imageLayers: readonly string[];
  /** The pod the container joins. */
  sandbox: PodRecord;
  /** The pod's sandbox config says privileged: only then may its containers be privileged. */
  privilegedAllowed: boolean;
  /** Told what the Linux config skips on this host (hugepages without hugetlb...). */
  warn?: (message: string) => void;
}

/** Where the container's namespaces come from. */
export interface PodNamespaces {
  /** The pause container's host PID (0 when it does not run). */
  pausePid: number;
  /** With namespace_options.pid TARGET: the target container's host PID. */
  targetPid?: number;
}

/** What berth keeps of a checked config. */
export interface CheckedContainerConfig {
  metadata: { name: string; attempt: number };
  image: string;
  imageAnnotations: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Absolute, under the pod's log directory; '' when there is no log. */
  logPath: string;
  pidMode: 'pod' | 'container' | 'node' | 'target';
  targetId: string;
}

/** Kubernetes' container names: DNS labels. */
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY_MAX = 317;

function invalid(message: string): never {
  throw new InvalidContainerConfigError(message);
}

function checkStringMap(kind: string, map: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(map ?? {})) {
    if (key.length === 0 || key.length > LABEL_KEY_MAX || /\p{Cc}/u.test(key))
      invalid(`invalid ${kind} key ${JSON.stringify(key.slice(0, 80))}`);
    if (typeof value !== 'string') invalid(`${kind} ${key} is not a string`);
  }
  return { ...map };
}

/** The log file: `log_path` under the pod's log directory, never out of it. */
export function containerLogPath(logDirectory: string, logPath: string): string {
  if (!logPath) return '';
  if (!logDirectory)
    invalid(`log_path ${JSON.stringify(logPath.slice(0, 120))} needs the pod's log directory`);
  if (posix.isAbsolute(logPath) || logPath.includes('\0'))
    invalid(
      `log_path must be relative to the pod's log directory, not ${JSON.stringify(logPath.slice(0, 120))}`,
    );
  const full = posix.normalize(posix.join(logDirectory, logPath));
  if (!full.startsWith(`${posix.normalize(logDirectory).replace(/\/$/, '')}/`))
    invalid(`log_path ${JSON.stringify(logPath.slice(0, 120))} leaves the pod's log directory`);
  return full;
}

function pidMode(mode: NamespaceMode): CheckedContainerConfig['pidMode'] {
  switch (mode) {
    case NamespaceMode.POD:
      return 'pod';
    case NamespaceMode.CONTAINER:
      return 'container';
    case NamespaceMode.NODE:
      return 'node';
    case NamespaceMode.TARGET:
      return 'target';
    default:
      return invalid(`PID namespace mode ${String(mode)} is not supported`);
  }
}

/**
 * The config checked against its pod: InvalidContainerConfigError for one no
 * container can have (no metadata or image, a bad name, a log path out of the
 * pod's directory, namespace options the pod contradicts).
 */
export function checkContainerConfig(
  config: ContainerConfig | undefined,
  pod: PodRecord,
): CheckedContainerConfig {
  if (!config) invalid('the container config is missing');
  const metadata = config.metadata;
  if (!metadata) invalid('the container config has no metadata');
  if (!NAME.test(metadata.name))
    invalid(
      `invalid container name ${JSON.stringify(metadata.name.slice(0, 80))}: must be a DNS label`,
    );
  if (!Number.isInteger(metadata.attempt) || metadata.attempt < 0)
    invalid(`invalid attempt ${metadata.attempt}`);
  const image = config.image?.image ?? '';
  if (!image) invalid('the container config names no image');
  if (config.stdinOnce && !config.stdin) invalid('stdin_once needs stdin');
  for (const env of config.envs ?? [])
    if (!env.key || env.key.includes('=') || /[\0]/.test(env.key + env.value))
      invalid(`invalid environment variable ${JSON.stringify(env.key.slice(0, 80))}`);
  if (config.workingDir && !posix.isAbsolute(config.workingDir))
    invalid(
      `the working directory must be absolute, not ${JSON.stringify(config.workingDir.slice(0, 120))}`,
    );
  const options = config.linux?.securityContext?.namespaceOptions;
  // The pod owns its network and IPC namespaces: a container cannot ask for others.
  const podScope = (mode: NamespaceMode) => (mode === NamespaceMode.NODE ? 'node' : 'pod');
  if (options) {
    if (podScope(options.network) !== pod.namespaces.network)
      invalid(
        `network namespace ${NamespaceMode[options.network]} conflicts with the pod's (${pod.namespaces.network})`,
      );
    if (podScope(options.ipc) !== pod.namespaces.ipc)
      invalid(
        `IPC namespace ${NamespaceMode[options.ipc]} conflicts with the pod's (${pod.namespaces.ipc})`,
      );
  }
  const pid = pidMode(options?.pid ?? NamespaceMode.POD);
  const targetId = options?.targetId ?? '';
  if (pid === 'target' && !targetId) invalid('PID namespace TARGET names no target container');
  if (pid !== 'target' && targetId)
    invalid(`a target_id needs PID namespace TARGET, not ${pid.toUpperCase()}`);
  if (pid === 'pod' && pod.namespaces.pid === 'node')
    invalid('PID namespace POD conflicts with the pod’s use of the host’s');
  return {
    metadata: { name: metadata.name, attempt: metadata.attempt },
    image,
    imageAnnotations: checkStringMap('image annotation', config.image?.annotations ?? {}),
    labels: checkStringMap('label', config.labels),
    annotations: checkStringMap('annotation', config.annotations),
    logPath: containerLogPath(pod.logDirectory, config.logPath),
    pidMode: pid,
    targetId,
  };
}

/** What createImageBundle overrides of the image: Kubernetes' command/args rules, env, working dir, tty. */
export function imageOverrides(config: ContainerConfig, pod: PodRecord): ImageOverrides {
  return {
    // command replaces the Entrypoint (and drops the Cmd unless args are given); args replace the Cmd.
    ...(config.command.length ? { entrypoint: [...config.command] } : {}),
    ...(config.args.length ? { args: [...config.args] } : {}),
    env: config.envs.map((e) => `${e.key}=${e.value}`),
    ...(config.workingDir ? { cwd: config.workingDir } : {}),
    terminal: config.tty,
    hostname: pod.hostname,
  };
}

/** The image's StopSignal as a number (name, SIG-less name or number), SIGTERM by default. */
export function stopSignalOf(imageConfig: RunnableImageConfig): number {
  const raw = (imageConfig.config as { StopSignal?: string } | null | undefined)?.StopSignal ?? '';
  if (!raw) return constants.signals.SIGTERM;
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n >= 1 && n <= 64) return n;
  }
  const name = (
    raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`
  ) as keyof typeof constants.signals;
  return constants.signals[name] ?? constants.signals.SIGTERM;
}

/** The namespaces the container's spec lists: its own mount namespace, the rest joined or new. */
export function containerNamespaces(
  pod: PodRecord,
  checked: Pick<CheckedContainerConfig, 'pidMode'>,
  where: PodNamespaces,
): Array<{ type: string; path?: string }> {
  const pause = (ns: string) => {
    if (where.pausePid <= 0) invalid('the pod’s pause container does not run');
    return `/proc/${where.pausePid}/ns/${ns}`;
  };
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'mount' }];
  if (pod.namespaces.network === 'pod') {
    namespaces.push({ type: 'network', path: pod.network?.netns ?? pause('net') });
    namespaces.push({ type: 'uts', path: pause('uts') });
  }
  if (pod.namespaces.ipc === 'pod') namespaces.push({ type: 'ipc', path: pause('ipc') });
  switch (checked.pidMode) {
    case 'pod':
      namespaces.push({ type: 'pid', path: pause('pid') });
      break;
    case 'container':
      namespaces.push({ type: 'pid' });
      break;
    case 'target':
      if (!where.targetPid) invalid('the target container does not run');
      namespaces.push({ type: 'pid', path: `/proc/${where.targetPid}/ns/pid` });
      break;
    case 'node':
      break;
  }
  return namespaces;
}

/** The container's bundle config from the image's (createImageBundle's `config`). */
export async function criContainerConfig(
  base: BundleConfig,
  config: ContainerConfig,
  checked: CheckedContainerConfig,
  files: PodFiles,
  where: PodNamespaces,
  ctx: ContainerSpecContext,
): Promise<BundleConfig> {
  const spec = structuredClone(base);
  const pod = ctx.sandbox;
  const linux: NonNullable<BundleConfig['linux']> = (spec.linux ??= {});
  linux.namespaces = containerNamespaces(pod, checked, where);
  // The pod's UTS namespace (or the host's) has the hostname already; runc refuses one without its own.
  delete spec.hostname;
  if (pod.cgroupParent) linux.cgroupsPath = posix.join(pod.cgroupParent, ctx.containerId);
  const podFiles = [
    ['/etc/resolv.conf', files.resolvConf],
    ['/etc/hostname', files.hostname],
    ['/etc/hosts', files.hosts],
  ] as const;
  const mounts = Array.isArray(spec.mounts) ? (spec.mounts as Array<{ destination: string }>) : [];
  spec.mounts = [
    ...mounts.filter((m) => !podFiles.some(([destination]) => destination === m.destination)),
    ...podFiles.map(([destination, source]) => ({
      destination,
      type: 'bind',
      source,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
    })),
  ];
  // Mounts first: a privileged container's devices and the security context build on them.
  const mounted = applyMounts(spec, config.mounts, config.devices);
  const [passwd, group] = await Promise.all([
    readImageFile(ctx.imageLayers, '/etc/passwd'),
    readImageFile(ctx.imageLayers, '/etc/group'),
  ]);
  return applyLinuxContainerConfig(mounted, config.linux, {
    sandboxPrivileged: ctx.privilegedAllowed,
    imageUser: ctx.imageConfig.config?.User ?? '',
    passwd,
    group,
    warn: ctx.warn,
  });
}
