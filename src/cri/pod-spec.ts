/**
 * RunPodSandbox's config checked and made into what berth keeps of a pod
 * (sandbox-store.ts), and the pause container's bundle config from it: the
 * pod's namespaces (a network namespace file from PodNetworks, or the
 * host's), hostname, sysctls, cgroup, and the pod's files bind-mounted.
 * Every check runs before anything is made.
 */
import { posix } from 'node:path';
import type { BundleConfig } from '../runtime/index.js';
import { NamespaceMode, Protocol, type PodSandboxConfig } from './generated/api.js';
import type { PortMapping } from './cni.js';
import { checkHostname, resolvConfFromDns, type PodFiles } from './pod-files.js';
import { InvalidPodConfigError } from './pod-errors.js';
import type { NamespaceScope, PodRecord } from './sandbox-store.js';

/** Kubernetes' names and namespaces: DNS subdomains. */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** The kubelet's UIDs are UUIDs; static pods' are hashes. */
const UID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SYSCTL_KEY = /^[a-z0-9_]+([./][a-z0-9_-]+)*$/;
const SYSCTL_VALUE = /^[^\n\0]{0,4096}$/;
const LABEL_KEY_MAX = 317;
/** sysctls of the IPC namespace (runc refuses them with the host's). */
const IPC_SYSCTLS = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shm'];
const PROTOCOL_NAMES: Record<number, PortMapping['protocol']> = {
  [Protocol.TCP]: 'tcp',
  [Protocol.UDP]: 'udp',
  [Protocol.SCTP]: 'sctp',
};

function invalid(message: string): never {
  throw new InvalidPodConfigError(message);
}

function scope(mode: NamespaceMode, kind: string): NamespaceScope {
  if (mode === NamespaceMode.NODE) return 'node';
  // CONTAINER is a container's own PID namespace: the pause container's is new either way.
  if (mode === NamespaceMode.POD || mode === NamespaceMode.CONTAINER) return 'pod';
  return invalid(`${kind} namespace mode ${NamespaceMode[mode] ?? mode} is not supported`);
}

function checkStringMap(kind: string, map: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(map)) {
    if (key.length === 0 || key.length > LABEL_KEY_MAX || /\p{Cc}/u.test(key))
      invalid(`invalid ${kind} key ${JSON.stringify(key.slice(0, 80))}`);
    if (typeof value !== 'string') invalid(`${kind} ${key} is not a string`);
  }
  return { ...map };
}

/**
 * A systemd slice name as the cgroupfs path systemd gives it: the kubelet
 * with the systemd cgroup driver names a pod's parent
 * `kubepods-besteffort-pod<uid>.slice`, which systemd (and so the kubelet's
 * own QoS and pod cgroups) keeps at
 * `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice`.
 * runc's ExpandSlice rule: each `-` goes one level down; `-.slice` is the
 * root; an empty component (`a--b.slice`, `-a.slice`) is no slice.
 * berth drives cgroupfs only, so the pod's cgroups are made under that path
 * directly rather than through systemd; undefined for a name that is not a
 * slice.
 */
export function expandSlice(slice: string): string | undefined {
  const suffix = '.slice';
  if (!slice.endsWith(suffix) || slice.length <= suffix.length || slice.includes('/'))
    return undefined;
  const name = slice.slice(0, -suffix.length);
  if (name === '-') return '/';
  let path = '';
  let prefix = '';
  for (const component of name.split('-')) {
    if (!/^[A-Za-z0-9_.\\]+$/.test(component)) return undefined;
    path += `/${prefix}${component}${suffix}`;
    prefix += `${component}-`;
  }
  return path;
}

/**
 * The cgroup parent: an absolute cgroupfs path, nothing climbing out of it,
 * or a systemd slice name (the kubelet's systemd cgroup driver) in its
 * cgroupfs place.
 */
function checkCgroupParent(parent: string): string {
  if (parent === '') return '';
  if (!parent.startsWith('/') && parent.endsWith('.slice')) {
    const expanded = expandSlice(parent);
    if (expanded === undefined)
      invalid(
        `invalid cgroup parent ${JSON.stringify(parent.slice(0, 120))}: not a systemd slice name (components of letters, digits, _ . \\ joined by single dashes, ending .slice)`,
      );
    return expanded;
  }
  const normal = posix.normalize(parent);
  if (!posix.isAbsolute(parent) || normal !== parent.replace(/\/+$/, '') || parent.includes('..'))
    invalid(
      `invalid cgroup parent ${JSON.stringify(parent.slice(0, 120))}: must be an absolute, normal cgroupfs path or a systemd slice name (x-y.slice)`,
    );
  if (/[\0\n,:]/.test(parent))
    invalid(`invalid cgroup parent ${JSON.stringify(parent.slice(0, 120))}`);
  return normal;
}

function checkSysctls(
  sysctls: Record<string, string>,
  namespaces: PodRecord['namespaces'],
): Record<string, string> {
  for (const [key, value] of Object.entries(sysctls)) {
    if (!SYSCTL_KEY.test(key)) invalid(`invalid sysctl name ${JSON.stringify(key.slice(0, 80))}`);
    if (!SYSCTL_VALUE.test(value)) invalid(`invalid value of sysctl ${key}`);
    const name = key.replaceAll('/', '.');
    if (namespaces.network === 'node' && name.startsWith('net.'))
      invalid(`sysctl ${key} needs the pod's own network namespace, not the host's`);
    if (
      namespaces.ipc === 'node' &&
      (name.startsWith('fs.mqueue.') || IPC_SYSCTLS.some((p) => name.startsWith(p)))
    )
      invalid(`sysctl ${key} needs the pod's own IPC namespace, not the host's`);
  }
  return { ...sysctls };
}

function portMappings(config: PodSandboxConfig): PortMapping[] {
  return config.portMappings.map((m) => {
    const protocol = PROTOCOL_NAMES[m.protocol];
    const port = (p: number, zeroOk: boolean) =>
      Number.isInteger(p) && (p > 0 || (zeroOk && p === 0)) && p < 65536;
    if (!protocol || !port(m.containerPort, false) || !port(m.hostPort, true))
      invalid(`invalid port mapping ${JSON.stringify(m)}`);
    return {
      hostPort: m.hostPort,
      containerPort: m.containerPort,
      protocol,
      ...(m.hostIp ? { hostIP: m.hostIp } : {}),
    };
  });
}

export type PodRecordDraft = Omit<
  PodRecord,
  'id' | 'createdAt' | 'state' | 'podDir' | 'pauseContainerId' | 'sandboxImage'
>;

/** What berth keeps of a pod's config; InvalidPodConfigError (or InvalidArgumentError) for a config no sandbox can have. */
export function podRecordDraft(
  config: PodSandboxConfig | undefined,
  runtimeHandler: string,
  nodeHostname: string,
): PodRecordDraft {
  if (!config) invalid('the pod sandbox config is missing');
  const metadata = config.metadata;
  if (!metadata) invalid('the pod sandbox config has no metadata');
  if (!NAME.test(metadata.name))
    invalid(
      `invalid pod name ${JSON.stringify(metadata.name.slice(0, 80))}: must be a DNS subdomain`,
    );
  if (!NAME.test(metadata.namespace))
    invalid(
      `invalid pod namespace ${JSON.stringify(metadata.namespace.slice(0, 80))}: must be a DNS subdomain`,
    );
  if (!UID.test(metadata.uid))
    invalid(`invalid pod uid ${JSON.stringify(metadata.uid.slice(0, 80))}`);
  if (!Number.isInteger(metadata.attempt) || metadata.attempt < 0)
    invalid(`invalid attempt ${metadata.attempt}`);
  if (runtimeHandler !== '' && runtimeHandler !== 'runc')
    invalid(
      `unknown runtime handler ${JSON.stringify(runtimeHandler.slice(0, 80))}: berth has "runc"`,
    );
  const linux = config.linux;
  const options = linux?.securityContext?.namespaceOptions;
  const namespaces = {
    network: scope(options?.network ?? NamespaceMode.POD, 'network'),
    pid: scope(options?.pid ?? NamespaceMode.POD, 'PID'),
    ipc: scope(options?.ipc ?? NamespaceMode.POD, 'IPC'),
  };
  // With the host's network the pod is the node, by name too (the kubelet's own rule).
  const hostname =
    namespaces.network === 'node'
      ? nodeHostname
      : checkHostname(config.hostname || metadata.name.slice(0, 63));
  const dns = config.dnsConfig
    ? {
        servers: config.dnsConfig.servers,
        searches: config.dnsConfig.searches,
        options: config.dnsConfig.options,
      }
    : undefined;
  resolvConfFromDns(dns);
  if (config.logDirectory && !posix.isAbsolute(config.logDirectory))
    invalid(
      `the log directory must be absolute, not ${JSON.stringify(config.logDirectory.slice(0, 120))}`,
    );
  return {
    metadata: {
      name: metadata.name,
      uid: metadata.uid,
      namespace: metadata.namespace,
      attempt: metadata.attempt,
    },
    labels: checkStringMap('label', config.labels),
    annotations: checkStringMap('annotation', config.annotations),
    hostname,
    logDirectory: config.logDirectory,
    ...(dns ? { dns } : {}),
    portMappings: portMappings(config),
    cgroupParent: checkCgroupParent(linux?.cgroupParent ?? ''),
    sysctls: checkSysctls(linux?.sysctls ?? {}, namespaces),
    namespaces,
    runtimeHandler: runtimeHandler || 'runc',
  };
}

/** The pause container's config: the image's (from createImageBundle), given the pod's namespaces and files. */
export function pauseContainerConfig(
  base: BundleConfig,
  pod: PodRecord,
  files: PodFiles,
  netns: string | undefined,
): BundleConfig {
  const config = structuredClone(base);
  const linux: NonNullable<BundleConfig['linux']> = config.linux ?? {};
  config.linux = linux;
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'mount' }];
  if (pod.namespaces.network === 'pod') {
    if (!netns)
      throw new InvalidPodConfigError('a pod with its own network needs its network namespace');
    namespaces.push({ type: 'network', path: netns }, { type: 'uts' });
  }
  if (pod.namespaces.ipc === 'pod') namespaces.push({ type: 'ipc' });
  if (pod.namespaces.pid === 'pod') namespaces.push({ type: 'pid' });
  linux.namespaces = namespaces;
  // runc refuses a hostname without a UTS namespace of the container's own.
  if (pod.namespaces.network === 'pod') config.hostname = pod.hostname;
  else delete config.hostname;
  if (Object.keys(pod.sysctls).length > 0) linux.sysctl = { ...pod.sysctls };
  if (pod.cgroupParent) linux.cgroupsPath = posix.join(pod.cgroupParent, pod.id);
  const podFiles = [
    ['/etc/resolv.conf', files.resolvConf],
    ['/etc/hostname', files.hostname],
    ['/etc/hosts', files.hosts],
  ] as const;
  const mounts = Array.isArray(config.mounts)
    ? (config.mounts as Array<{ destination: string }>)
    : [];
  config.mounts = [
    ...mounts.filter((m) => !podFiles.some(([destination]) => destination === m.destination)),
    ...podFiles.map(([destination, source]) => ({
      destination,
      type: 'bind',
      source,
      options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
    })),
  ];
  config.process.noNewPrivileges = true;
  return config;
}
