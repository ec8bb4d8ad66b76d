/**
 * A CRI container's Linux config (LinuxContainerConfig: security context and
 * resources) into its OCI spec, by containerd 1.6's rules
 * (pkg/cri/server/container_create_linux.go, pkg/cri/opts/spec_linux.go):
 *
 * - privileged: every capability berthd holds, every host device (allowed in the device
 *   cgroup), no masked or read-only paths, writable /sys and cgroupfs, no
 *   seccomp; refused (PrivilegedNotAllowedError) unless the pod is
 *   privileged.
 * - capabilities: docker's default set, then "ALL" (what berthd holds) added or dropped, then
 *   each named one added or dropped; names with or without `CAP_`, any case;
 *   an unknown one is refused. Ambient ones (add_ambient_capabilities) also
 *   go into every other set, inheritable included, as the kernel needs.
 * - the user: run_as_username, or run_as_user (with run_as_group as
 *   `uid:gid`), else the image's User, resolved against the image's
 *   /etc/passwd and /etc/group by runc's rules (src/images/user.ts);
 *   additional gids: the primary gid, the groups listing the user, and
 *   supplemental_groups, sorted. (containerd looks the groups up for uid 0
 *   when only the image names the user; berth looks them up for that user.)
 * - readonly_rootfs, no_new_privs (off unless asked, as containerd).
 * - seccomp: `seccomp` (RuntimeDefault → seccomp-default.ts, Unconfined →
 *   none, Localhost → the JSON file at localhost_ref), else the deprecated
 *   `seccomp_profile_path` ("runtime/default", "docker/default",
 *   "unconfined", "localhost/<path>"); neither → none, as containerd.
 * - masked_paths / readonly_paths: as given, or the OCI defaults (the list
 *   containerd's spec starts from) when empty — proto3 cannot tell empty
 *   from absent, so a kubelet's procMount Unmasked (an empty list) still
 *   gets the defaults.
 * - apparmor (`apparmor`, `apparmor_profile`) and selinux_options are
 *   accepted and ignored: this host has neither.
 * - resources: cpu period/quota/shares, cpuset cpus/mems, memory limit
 *   (swap = limit unless memory_swap_limit_in_bytes says otherwise, when
 *   the host has a swap controller), oom_score_adj, hugepage limits (skipped
 *   with a warning without a hugetlb controller the runtime can use, as
 *   containerd's tolerate_missing_hugetlb_controller), unified (cgroup v2
 *   only: skipped with a warning on v1, where runc refuses it).
 *
 * Namespaces, mounts, devices and the process (args, env, cwd) are the
 * caller's (container-mounts.ts for mounts and devices).
 *
 * Pure but for two reads: a Localhost seccomp profile's file, and the host
 * facts (cgroup version, controllers, bounding set) when `ctx.host` does
 * not give them; the spec given is not changed (a copy is returned).
 */
import { readFileSync, statfsSync, existsSync } from 'node:fs';
import { posix } from 'node:path';
import { DOCKER_CAPABILITIES } from '../images/bundle.js';
import { parseGroup, parsePasswd, resolveUserFrom } from '../images/user.js';
import type { BundleConfig, Resource } from '../runtime/index.js';
import {
  SecurityProfile_ProfileType as ProfileType,
  type LinuxContainerConfig,
  type LinuxContainerResources,
  type LinuxContainerSecurityContext,
  type SecurityProfile,
} from './generated/api.js';
import {
  InvalidContainerConfigError,
  PrivilegedNotAllowedError,
  SeccompProfileError,
} from './container-config-errors.js';
import {
  addLinuxDevices,
  hostDevices as listHostDevices,
  linuxResources,
  type LinuxDevice,
  type OciMount,
} from './container-mounts.js';
import {
  defaultSeccompProfile,
  type LinuxSeccomp,
  type SeccompSyscall,
} from './seccomp-default.js';

export type Spec = BundleConfig;

/** What the host offers, as far as the spec is concerned. */
export interface LinuxHostFacts {
  cgroupVersion: 1 | 2;
  /** A hugetlb controller runc can set limits in (on v1: mounted at /sys/fs/cgroup/hugetlb). */
  hugetlb: boolean;
  /** memory.memsw (v1) or memory.swap.max (v2): a swap limit can be set. */
  swapController: boolean;
  /**
   * The capabilities a container can be given: this process's bounding set
   * (containerd's "current capabilities"), what "ALL" and privileged mean.
   */
  capabilities: readonly string[];
}

export interface LinuxSpecContext {
  /** The pod's own security context is privileged: only then may a container be. */
  sandboxPrivileged: boolean;
  /** The image config's User ('' or absent: root), used when the security context names no user. */
  imageUser?: string;
  /** The image's /etc/passwd and /etc/group (absent: undefined), read through its layers (images/layer-read.ts `readImageFile`). */
  passwd?: string;
  group?: string;
  /** Default: detectLinuxHost(). */
  host?: LinuxHostFacts;
  /** A privileged container's devices. Default: every device under the host's /dev. */
  hostDevices?: () => LinuxDevice[];
  /** Node's process.arch naming the seccomp architectures (default: this host's). */
  arch?: string;
  /** Told what is skipped (hugepages without hugetlb, unified on v1, swap without a swap controller). */
  warn?: (message: string) => void;
}

/** Linux's capabilities by number (0 to 40, CAP_CHECKPOINT_RESTORE, the last runc 1.1 knows). */
export const ALL_CAPABILITIES: readonly string[] = [
  ...['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID'],
  ...['CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE'],
  ...['CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW'],
  ...['CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT'],
  ...['CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE'],
  ...['CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE'],
  ...['CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE'],
  ...['CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ'],
  ...['CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE'],
];

/** The masked and read-only paths of the OCI default spec, which containerd's spec starts from. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  ...['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats'],
  ...['/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware'],
  '/proc/scsi',
];
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  ...['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
];

const MAX_ID = 0xfffffffe;
const CGROUP2_SUPER_MAGIC = 0x63677270;
const SECCOMP_PROFILE_MAX_BYTES = 4 << 20;
const PROFILE_PREFIX = 'localhost/';

let detected: LinuxHostFacts | undefined;

/** This host's facts, read once. */
export function detectLinuxHost(): LinuxHostFacts {
  if (detected) return detected;
  let cgroupVersion: 1 | 2 = 1;
  try {
    if (statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC) cgroupVersion = 2;
  } catch {
    // No cgroupfs to read: v1's rules are the cautious ones.
  }
  const v2Controllers = () => {
    try {
      return readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/);
    } catch {
      return [];
    }
  };
  detected = {
    cgroupVersion,
    hugetlb:
      cgroupVersion === 2
        ? v2Controllers().includes('hugetlb')
        : existsSync('/sys/fs/cgroup/hugetlb'),
    swapController:
      cgroupVersion === 2
        ? swapV2Available()
        : existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
    capabilities: boundingCapabilities(),
  };
  return detected;
}

/** The capabilities in this process's bounding set (CapBnd in /proc/self/status) that runc knows. */
export function boundingCapabilities(status?: string): string[] {
  let text = status;
  try {
    text ??= readFileSync('/proc/self/status', 'utf8');
  } catch {
    return [...ALL_CAPABILITIES];
  }
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  if (!hex) return [...ALL_CAPABILITIES];
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** v2: memory.swap.max is absent from the root, so look in this process's own cgroup. */
function swapV2Available(): boolean {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return (
      line !== undefined &&
      existsSync(posix.join('/sys/fs/cgroup', line.slice(3), 'memory.swap.max'))
    );
  } catch {
    return false;
  }
}

function invalid(message: string): never {
  throw new InvalidContainerConfigError(message);
}

// Capabilities.

function capabilityName(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

function knownCapabilities(names: string[], what: string): string[] {
  return names
    .filter((name) => name.trim().toUpperCase() !== 'ALL')
    .map((name) => {
      const cap = capabilityName(name);
      if (!ALL_CAPABILITIES.includes(cap))
        invalid(`unknown capability ${JSON.stringify(name.slice(0, 60))} in ${what}`);
      return cap;
    });
}

function everyCapability(host: LinuxHostFacts): string[] {
  return [...host.capabilities];
}

function capabilitySets(
  sc: LinuxContainerSecurityContext | undefined,
  host: LinuxHostFacts,
): Record<string, string[]> {
  const wanted = sc?.capabilities;
  const add = knownCapabilities(wanted?.addCapabilities ?? [], 'add_capabilities');
  const drop = knownCapabilities(wanted?.dropCapabilities ?? [], 'drop_capabilities');
  const ambient = knownCapabilities(
    wanted?.addAmbientCapabilities ?? [],
    'add_ambient_capabilities',
  );
  // runc's "unable to apply caps: operation not permitted" otherwise, naming none.
  for (const cap of [...add, ...ambient])
    if (!host.capabilities.includes(cap))
      invalid(
        `capability ${cap} cannot be given: berthd does not hold it (not in its bounding set)`,
      );
  const isAll = (names: string[]) => names.some((n) => n.trim().toUpperCase() === 'ALL');
  let caps: string[];
  if (sc?.privileged) caps = everyCapability(host);
  else {
    caps = [...DOCKER_CAPABILITIES];
    // ALL first, so that the named ones still count: add ALL, drop CHOWN is all but CHOWN.
    if (isAll(wanted?.addCapabilities ?? [])) caps = everyCapability(host);
    if (isAll(wanted?.dropCapabilities ?? [])) caps = [];
    caps = [...new Set([...caps, ...add])].filter((cap) => !drop.includes(cap));
  }
  const withAmbient = [...new Set([...caps, ...ambient])];
  return {
    bounding: withAmbient,
    effective: [...withAmbient],
    permitted: [...withAmbient],
    inheritable: [...ambient],
    ambient: [...ambient],
  };
}

// The user.

function checkId(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(MAX_ID)) invalid(`${what} ${value} is out of range`);
  return Number(value);
}

function processUser(
  sc: LinuxContainerSecurityContext | undefined,
  ctx: LinuxSpecContext,
): { uid: number; gid: number; additionalGids: number[] } {
  const uid = sc?.runAsUser ? checkId(sc.runAsUser.value, 'run_as_user') : undefined;
  const gid = sc?.runAsGroup ? checkId(sc.runAsGroup.value, 'run_as_group') : undefined;
  const username = sc?.runAsUsername ?? '';
  if (username !== '' && !/^[^:\s\0]{1,256}$/.test(username))
    invalid(`invalid run_as_username ${JSON.stringify(username.slice(0, 60))}`);
  const userPart = username || (uid !== undefined ? String(uid) : '');
  if (gid !== undefined && userPart === '')
    invalid(`run_as_group ${gid} is given without run_as_user or run_as_username`);
  const spec = userPart
    ? gid !== undefined
      ? `${userPart}:${gid}`
      : userPart
    : (ctx.imageUser ?? '');
  let resolved;
  try {
    resolved = resolveUserFrom(spec, ctx.passwd, ctx.group);
  } catch (err) {
    throw new InvalidContainerConfigError(
      `cannot run as ${JSON.stringify(spec.slice(0, 80))}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  // The groups listing the user by name: the user part alone, whatever group was asked for.
  const userOnly = spec.split(':')[0] ?? '';
  const passwd = parsePasswd(ctx.passwd);
  const entry =
    passwd.find((u) => u.name === userOnly) ??
    (/^\d+$/.test(userOnly) ? passwd.find((u) => u.uid === Number(userOnly)) : undefined) ??
    (userOnly === '' ? passwd.find((u) => u.uid === 0) : undefined);
  const memberOf = entry
    ? parseGroup(ctx.group)
        .filter((g) => g.members.includes(entry.name))
        .map((g) => g.gid)
    : [];
  const supplemental = (sc?.supplementalGroups ?? []).map((g) =>
    checkId(g, 'a supplemental group'),
  );
  const additionalGids = [...new Set([resolved.gid, ...memberOf, ...supplemental])].sort(
    (a, b) => a - b,
  );
  return { uid: resolved.uid, gid: resolved.gid, additionalGids };
}

// Paths.

function absolutePaths(paths: string[], what: string): string[] {
  for (const path of paths)
    if (!posix.isAbsolute(path) || path.includes('\0'))
      invalid(`${what} must be absolute paths, not ${JSON.stringify(path.slice(0, 200))}`);
  return [...paths];
}

// Seccomp.

type SeccompChoice = { kind: 'none' } | { kind: 'default' } | { kind: 'localhost'; path: string };

function localhostChoice(ref: string): SeccompChoice {
  const path = ref.startsWith(PROFILE_PREFIX) ? ref.slice(PROFILE_PREFIX.length) : ref;
  if (!posix.isAbsolute(path) || path.includes('\0'))
    invalid(
      `a Localhost seccomp profile must be an absolute path, not ${JSON.stringify(path.slice(0, 200))}`,
    );
  return { kind: 'localhost', path };
}

function seccompChoice(sc: LinuxContainerSecurityContext | undefined): SeccompChoice {
  const profile: SecurityProfile | undefined = sc?.seccomp;
  if (profile) {
    if (profile.profileType !== ProfileType.Localhost && profile.localhostRef !== '')
      invalid('seccomp localhost_ref must only be set when the profile type is Localhost');
    switch (profile.profileType) {
      case ProfileType.Unconfined:
        return { kind: 'none' };
      case ProfileType.RuntimeDefault:
        return { kind: 'default' };
      case ProfileType.Localhost:
        return localhostChoice(profile.localhostRef);
      default:
        return invalid(`unknown seccomp profile type ${String(profile.profileType)}`);
    }
  }
  const path = sc?.seccompProfilePath ?? '';
  if (path === '') return { kind: 'none' };
  if (path === 'runtime/default' || path === 'docker/default') return { kind: 'default' };
  if (path === 'unconfined') return { kind: 'none' };
  if (path.startsWith(PROFILE_PREFIX)) return localhostChoice(path);
  return invalid(`invalid seccomp profile ${JSON.stringify(path.slice(0, 200))}`);
}

const ACTION = /^SCMP_ACT_[A-Z_]+$/;
const OP = /^SCMP_CMP_[A-Z_]+$/;
const ARCH = /^SCMP_ARCH_[A-Z0-9_]+$/;
const NODE_TO_SECCOMP_ARCH: Readonly<Record<string, string>> = {
  x64: 'SCMP_ARCH_X86_64',
  arm64: 'SCMP_ARCH_AARCH64',
  ia32: 'SCMP_ARCH_X86',
  arm: 'SCMP_ARCH_ARM',
  s390x: 'SCMP_ARCH_S390X',
  ppc64: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string');
// JSON numbers beyond 2^53 lose digits here, and runc would read another value: refused.
const isUint = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * A Localhost profile: the OCI `linux.seccomp` object (what containerd
 * reads), or docker's form (`archMap`, one `name` per rule); only the OCI
 * fields are kept.
 */
export function readSeccompProfile(path: string, arch: string = process.arch): LinuxSeccomp {
  let text: string;
  try {
    const data = readFileSync(path);
    if (data.length > SECCOMP_PROFILE_MAX_BYTES)
      throw new SeccompProfileError(path, `larger than ${SECCOMP_PROFILE_MAX_BYTES} bytes`);
    text = data.toString('utf8');
  } catch (err) {
    if (err instanceof SeccompProfileError) throw err;
    throw new SeccompProfileError(path, (err as Error).message, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SeccompProfileError(path, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  const bad = (reason: string): never => {
    throw new SeccompProfileError(path, reason);
  };
  if (!isObject(raw)) return bad('not a JSON object');
  if (typeof raw.defaultAction !== 'string' || !ACTION.test(raw.defaultAction))
    return bad('defaultAction must be an SCMP_ACT_ action');
  const profile: LinuxSeccomp = { defaultAction: raw.defaultAction };
  if (raw.defaultErrnoRet !== undefined) {
    if (!isUint(raw.defaultErrnoRet)) return bad('defaultErrnoRet must be an errno');
    profile.defaultErrnoRet = raw.defaultErrnoRet;
  }
  if (raw.architectures !== undefined && raw.architectures !== null) {
    if (!isStringList(raw.architectures) || !raw.architectures.every((a) => ARCH.test(a)))
      return bad('architectures must be SCMP_ARCH_ names');
    profile.architectures = [...raw.architectures];
  } else if (Array.isArray(raw.archMap)) {
    const native = NODE_TO_SECCOMP_ARCH[arch];
    const entry = raw.archMap.find((e) => isObject(e) && e.architecture === native);
    if (isObject(entry)) {
      const subs = isStringList(entry.subArchitectures) ? entry.subArchitectures : [];
      profile.architectures = [native!, ...subs].filter((a) => ARCH.test(a));
    }
  }
  if (raw.flags !== undefined && raw.flags !== null) {
    if (!isStringList(raw.flags)) return bad('flags must be a list of names');
    profile.flags = [...raw.flags];
  }
  for (const key of ['listenerPath', 'listenerMetadata'] as const) {
    if (raw[key] === undefined) continue;
    if (typeof raw[key] !== 'string') return bad(`${key} must be a string`);
    profile[key] = raw[key];
  }
  if (raw.syscalls !== undefined && raw.syscalls !== null) {
    if (!Array.isArray(raw.syscalls)) return bad('syscalls must be a list');
    profile.syscalls = raw.syscalls.map((rule, i): SeccompSyscall => {
      if (!isObject(rule)) return bad(`syscalls[${i}] is not an object`);
      const names = isStringList(rule.names)
        ? rule.names
        : typeof rule.name === 'string'
          ? [rule.name]
          : bad(`syscalls[${i}] has no names`);
      if (names.length === 0) return bad(`syscalls[${i}] has no names`);
      if (typeof rule.action !== 'string' || !ACTION.test(rule.action))
        return bad(`syscalls[${i}].action must be an SCMP_ACT_ action`);
      const out: SeccompSyscall = { names: [...names], action: rule.action };
      if (rule.errnoRet !== undefined) {
        if (!isUint(rule.errnoRet)) return bad(`syscalls[${i}].errnoRet must be an errno`);
        out.errnoRet = rule.errnoRet;
      }
      if (rule.args !== undefined && rule.args !== null) {
        if (!Array.isArray(rule.args)) return bad(`syscalls[${i}].args must be a list`);
        out.args = rule.args.map((arg, j) => {
          const where = `syscalls[${i}].args[${j}]`;
          if (!isObject(arg) || !isUint(arg.index) || arg.index > 5 || !isUint(arg.value))
            return bad(`${where} needs an index (0 to 5) and a value`);
          if (typeof arg.op !== 'string' || !OP.test(arg.op))
            return bad(`${where}.op must be an SCMP_CMP_ operator`);
          if (arg.valueTwo !== undefined && !isUint(arg.valueTwo))
            return bad(`${where}.valueTwo must be a number`);
          return {
            index: arg.index,
            value: arg.value,
            ...(arg.valueTwo !== undefined ? { valueTwo: arg.valueTwo } : {}),
            op: arg.op,
          };
        });
      }
      return out;
    });
  }
  return profile;
}

// Resources.

function toNumber(value: bigint, what: string, min: bigint): number {
  if (value < min || value > BigInt(Number.MAX_SAFE_INTEGER))
    invalid(`${what} ${value} is out of range (at least ${min})`);
  return Number(value);
}

const CPU_LIST = /^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/;
const PAGE_SIZE = /^[1-9][0-9]*(KB|MB|GB|TB|PB)$/;
/** A cgroup v2 file name (`memory.high`, `hugetlb.2MB.max`): no path in it. */
const UNIFIED_KEY = /^[a-z][a-z0-9_]*\.[A-Za-z0-9_.]+$/;

/** The cpu and memory parts both CreateContainer and UpdateContainerResources take: zero means "not set". */
function cpuAndMemory(r: LinuxContainerResources, host: LinuxHostFacts, warn: (m: string) => void) {
  const cpu: { period?: number; quota?: number; shares?: number; cpus?: string; mems?: string } =
    {};
  const memory: { limit?: number; swap?: number } = {};
  if (r.cpuPeriod !== 0n) cpu.period = toNumber(r.cpuPeriod, 'cpu_period', 0n);
  if (r.cpuQuota !== 0n) cpu.quota = toNumber(r.cpuQuota, 'cpu_quota', -1n);
  if (r.cpuShares !== 0n) cpu.shares = toNumber(r.cpuShares, 'cpu_shares', 0n);
  for (const [field, key] of [
    ['cpusetCpus', 'cpus'],
    ['cpusetMems', 'mems'],
  ] as const) {
    const list = r[field];
    if (list === '') continue;
    if (!CPU_LIST.test(list))
      invalid(
        `${field === 'cpusetCpus' ? 'cpuset_cpus' : 'cpuset_mems'} must be a list like "0-2,4", not ${JSON.stringify(list.slice(0, 60))}`,
      );
    cpu[key] = list;
  }
  if (r.memoryLimitInBytes !== 0n)
    memory.limit = toNumber(r.memoryLimitInBytes, 'memory_limit_in_bytes', -1n);
  const swap =
    r.memorySwapLimitInBytes !== 0n
      ? toNumber(r.memorySwapLimitInBytes, 'memory_swap_limit_in_bytes', -1n)
      : undefined;
  if (
    swap !== undefined &&
    swap > 0 &&
    memory.limit !== undefined &&
    memory.limit > 0 &&
    swap < memory.limit
  )
    invalid(
      `memory_swap_limit_in_bytes ${swap} is below memory_limit_in_bytes ${memory.limit}: it counts memory plus swap`,
    );
  if (host.swapController) {
    // Swap equal to the limit by default: no swapping out of the limit.
    const effective = swap ?? memory.limit;
    if (effective !== undefined) memory.swap = effective;
  } else if (swap !== undefined) {
    warn('memory_swap_limit_in_bytes ignored: this host has no swap controller');
  }
  return { cpu, memory };
}

function applyResources(
  spec: Spec,
  r: LinuxContainerResources,
  host: LinuxHostFacts,
  warn: (message: string) => void,
): void {
  const { cpu, memory } = cpuAndMemory(r, host, warn);
  const oomScoreAdj = Number(r.oomScoreAdj);
  if (r.oomScoreAdj < -1000n || r.oomScoreAdj > 1000n)
    invalid(`oom_score_adj ${r.oomScoreAdj} is out of range (-1000 to 1000)`);
  const hugepageLimits = r.hugepageLimits.map((h) => {
    if (!PAGE_SIZE.test(h.pageSize))
      invalid(
        `invalid hugepage size ${JSON.stringify(h.pageSize.slice(0, 40))}: e.g. "2MB", "1GB"`,
      );
    return {
      pageSize: h.pageSize,
      limit: toNumber(h.limit, `the ${h.pageSize} hugepage limit`, 0n),
    };
  });
  const unified = Object.entries(r.unified);
  for (const [key, value] of unified)
    if (!UNIFIED_KEY.test(key) || /[\n\0]/.test(value))
      invalid(`invalid unified cgroup entry ${JSON.stringify(key.slice(0, 60))}`);

  const resources = linuxResources(spec);
  if (Object.keys(cpu).length > 0)
    resources.cpu = { ...(resources.cpu as object | undefined), ...cpu };
  if (Object.keys(memory).length > 0)
    resources.memory = { ...(resources.memory as object | undefined), ...memory };
  if (hugepageLimits.length > 0) {
    if (host.hugetlb) resources.hugepageLimits = hugepageLimits;
    else warn('hugepage limits ignored: the runtime has no hugetlb cgroup controller here');
  }
  if (unified.length > 0) {
    if (host.cgroupVersion === 2) resources.unified = Object.fromEntries(unified);
    else warn('unified cgroup entries ignored: they are for cgroup v2 and this host runs v1');
  }
  spec.process.oomScoreAdj = oomScoreAdj;
}

/**
 * UpdateContainerResources' resources as the runtime library's update takes
 * them (the supervisor's UpdateContainerRequest.resources): cpu and memory
 * only. oom_score_adj, hugepage limits and unified entries have no place in
 * `runc update` and are not changed (containerd changes them in the stored
 * spec only).
 */
export function linuxResourcesToUpdate(
  resources: LinuxContainerResources,
  host: LinuxHostFacts = detectLinuxHost(),
): Resource {
  const { cpu, memory } = cpuAndMemory(resources, host, () => {});
  const update: Resource = {};
  if (cpu.shares !== undefined) update.cpuShares = cpu.shares;
  if (cpu.period !== undefined) update.cpuPeriod = cpu.period;
  if (cpu.quota !== undefined) update.cpuQuota = cpu.quota;
  if (cpu.cpus !== undefined) update.cpusetCpus = cpu.cpus;
  if (cpu.mems !== undefined) update.cpusetMems = cpu.mems;
  if (memory.limit !== undefined) update.memory = memory.limit;
  if (memory.swap !== undefined) update.memorySwap = memory.swap;
  return update;
}

// Privileged.

function unprotect(spec: Spec, ctx: LinuxSpecContext): void {
  const linux = (spec.linux ??= {});
  delete linux.maskedPaths;
  delete linux.readonlyPaths;
  delete linux.seccomp;
  delete spec.process.apparmorProfile;
  delete spec.process.selinuxLabel;
  // Writable /sys and cgroupfs (containerd's WithWriteableSysfs and WithWriteableCgroupfs).
  if (Array.isArray(spec.mounts))
    for (const mount of spec.mounts as OciMount[])
      if ((mount.type === 'sysfs' || mount.type === 'cgroup') && mount.options)
        mount.options = mount.options.filter((o) => o !== 'ro');
  addLinuxDevices(spec, (ctx.hostDevices ?? listHostDevices)());
  linuxResources(spec).devices = [{ allow: true, access: 'rwm' }];
}

/**
 * The spec with the container's Linux config applied (`linux` undefined:
 * the defaults, as an empty config); returns a new spec.
 */
export function applyLinuxContainerConfig(
  spec: Spec,
  linux: LinuxContainerConfig | undefined,
  ctx: LinuxSpecContext,
): Spec {
  const sc = linux?.securityContext;
  const privileged = sc?.privileged ?? false;
  if (privileged && !ctx.sandboxPrivileged) throw new PrivilegedNotAllowedError();
  const host = ctx.host ?? detectLinuxHost();
  const warn = ctx.warn ?? (() => {});
  // Every check that needs no host state first: a refusal changes nothing.
  const seccomp = privileged ? { kind: 'none' as const } : seccompChoice(sc);
  const masked = absolutePaths(sc?.maskedPaths ?? [], 'masked_paths');
  const readonly = absolutePaths(sc?.readonlyPaths ?? [], 'readonly_paths');
  const capabilities = capabilitySets(sc, host);
  const user = processUser(sc, ctx);

  const out = structuredClone(spec);
  const process = out.process;
  const outLinux = (out.linux ??= {});
  process.capabilities = capabilities;
  process.user = {
    ...(process.user?.umask !== undefined ? { umask: process.user.umask } : {}),
    ...user,
  };
  process.noNewPrivileges = sc?.noNewPrivs ?? false;
  out.root = { path: out.root?.path ?? 'rootfs', readonly: sc?.readonlyRootfs ?? false };
  // No AppArmor or SELinux on this host: a profile or label from the image's spec would make runc fail.
  delete process.apparmorProfile;
  delete process.selinuxLabel;
  outLinux.maskedPaths = masked.length > 0 ? masked : [...DEFAULT_MASKED_PATHS];
  outLinux.readonlyPaths = readonly.length > 0 ? readonly : [...DEFAULT_READONLY_PATHS];
  delete outLinux.seccomp;
  if (seccomp.kind === 'default')
    outLinux.seccomp = defaultSeccompProfile(capabilities.bounding!, ctx.arch);
  else if (seccomp.kind === 'localhost')
    outLinux.seccomp = readSeccompProfile(seccomp.path, ctx.arch);
  if (privileged) unprotect(out, ctx);
  if (linux?.resources) applyResources(out, linux.resources, host, warn);
  return out;
}
