/**
 * A CRI container's mounts and devices into its OCI spec, containerd 1.6's
 * rules (pkg/cri/opts/spec_linux.go WithMounts, WithDevices):
 *
 * - Mounts: bind mounts (`rbind`, `ro`/`rw`, propagation `rprivate`,
 *   `rslave` or `rshared`), sorted parents first; one at a path the spec
 *   already mounts (the image's defaults, or berth's own `extraMounts` such
 *   as the pod's /etc/hosts) replaces it, and one at /dev drops every
 *   default under /dev. `rslave` needs the host path's mount to be shared or
 *   a slave and `rshared` a shared one (else the mode would silently not
 *   hold): MountSourceError; they set `linux.rootfsPropagation` as runc
 *   then needs. A missing host path is made as a directory (0755), as
 *   containerd does (hostPath volumes without a type rely on it) — and it
 *   stays if the container is not made, as with containerd; symlinks are
 *   resolved. `selinux_relabel` is ignored: berth has no SELinux.
 * - Devices: the host path (symlinks resolved) stat'd for its type and
 *   numbers; into `linux.devices` at the container path (the host path when
 *   empty) and allowed in the device cgroup with its permissions (`rwm`
 *   when empty). Not a character or block device: InvalidDeviceError.
 *
 * Pure but for the host file system: it reads (stat, realpath,
 * /proc/self/mountinfo) and may create a missing mount source; the spec
 * given is not changed (a copy is returned).
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { BundleConfig } from '../runtime/index.js';
import { MountPropagation, type Device, type Mount } from './generated/api.js';
import {
  InvalidContainerConfigError,
  InvalidDeviceError,
  MountSourceError,
} from './container-config-errors.js';

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** OCI runtime-spec `linux.devices[]`. */
export interface LinuxDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** OCI runtime-spec `linux.resources.devices[]`: the device cgroup's rules. */
export interface DeviceCgroupRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface MountSpecContext {
  /** Mounts berth adds itself (the pod's /etc/hosts, /etc/resolv.conf, /dev/shm): a CRI mount at the same path wins. */
  extraMounts?: Mount[];
  /** /proc/self/mountinfo's text, for the propagation checks (default: read it). */
  mountInfo?: string;
}

/** One line of mountinfo: where it is mounted and its propagation tags (`shared:N`, `master:N`). */
interface MountInfoEntry {
  mountPoint: string;
  optional: string[];
}

function invalid(message: string): never {
  throw new InvalidContainerConfigError(message);
}

/** An absolute container path, normalized; nothing a runtime would misread. */
function containerPath(path: string, what: string): string {
  if (!path || path.includes('\0') || !posix.isAbsolute(path))
    invalid(`${what} must be an absolute path, not ${JSON.stringify(path.slice(0, 200))}`);
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

function hostPath(path: string, what: string): string {
  if (!path || path.includes('\0') || !posix.isAbsolute(path))
    invalid(`${what} must be an absolute host path, not ${JSON.stringify(path.slice(0, 200))}`);
  return posix.normalize(path);
}

/** /proc/self/mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (fields.length < 7 || separator < 6) continue;
    entries.push({
      mountPoint: unescapeMountPath(fields[4]!),
      optional: fields.slice(6, separator),
    });
  }
  return entries;
}

/** The mount `path` lives on: the deepest mount point above it (the last mounted, when stacked). */
function mountOf(path: string, entries: MountInfoEntry[]): MountInfoEntry | undefined {
  let found: MountInfoEntry | undefined;
  for (const entry of entries) {
    const point = entry.mountPoint;
    const inside = point === '/' || path === point || path.startsWith(`${point}/`);
    if (inside && (!found || point.length >= found.mountPoint.length)) found = entry;
  }
  return found;
}

function checkPropagation(
  source: string,
  mountInfo: string,
  accepted: readonly string[],
  mode: string,
): void {
  const mount = mountOf(source, parseMountInfo(mountInfo));
  if (!mount) throw new MountSourceError(source, 'no mount of it in /proc/self/mountinfo');
  if (!mount.optional.some((tag) => accepted.some((prefix) => tag.startsWith(prefix))))
    throw new MountSourceError(
      source,
      `${mode} propagation needs its mount (${mount.mountPoint}) to be ${accepted.length > 1 ? 'shared or a slave' : 'shared'}, and it is private`,
    );
}

/** The host path's real path; a missing one is made as a directory (containerd's rule). */
function mountSource(path: string): string {
  const source = hostPath(path, 'a mount host_path');
  try {
    statSync(source);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new MountSourceError(source, (err as Error).message, { cause: err });
    try {
      mkdirSync(source, { recursive: true, mode: 0o755 });
    } catch (mkdirErr) {
      throw new MountSourceError(source, `cannot create it: ${(mkdirErr as Error).message}`, {
        cause: mkdirErr,
      });
    }
  }
  try {
    return realpathSync(source);
  } catch (err) {
    throw new MountSourceError(source, (err as Error).message, { cause: err });
  }
}

const PROPAGATIONS = new Set<MountPropagation>([
  MountPropagation.PROPAGATION_PRIVATE,
  MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
  MountPropagation.PROPAGATION_BIDIRECTIONAL,
]);

/** The device cgroup access: letters of "rwm" ("rwm" when empty). */
function devicePermissions(device: Device): string {
  const access = device.permissions || 'rwm';
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length)
    invalid(
      `device ${device.hostPath}: permissions must be letters of "rwm", not ${JSON.stringify(access.slice(0, 20))}`,
    );
  return access;
}

const depth = (path: string) => (path === '/' ? 0 : path.split('/').length - 1);

/** Linux's dev_t split (glibc's major()/minor()). */
function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

/** The device at `path` (symlinks followed), as `linux.devices` wants it; undefined when it is not a device. */
export function deviceFromPath(path: string): LinuxDevice | undefined {
  const stat = statSync(path, { bigint: true });
  const type = stat.isCharacterDevice() ? 'c' : stat.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return {
    path,
    type,
    ...deviceNumbers(stat.rdev),
    fileMode: Number(stat.mode & 0o777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
  };
}

/** Folders of /dev a privileged container does not get from the host (their own mounts, or runtime things). */
const HOST_DEV_SKIPPED = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Every device under the host's /dev (a privileged container's, as containerd's WithHostDevices). */
export function hostDevices(dir = '/dev'): LinuxDevice[] {
  const devices: LinuxDevice[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return devices;
  }
  for (const entry of entries) {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!HOST_DEV_SKIPPED.has(entry.name)) devices.push(...hostDevices(path));
      continue;
    }
    // The console is the container's own (runc makes it); links point at devices listed anyway.
    if (entry.name === 'console' || entry.isSymbolicLink()) continue;
    if (!entry.isCharacterDevice() && !entry.isBlockDevice()) continue;
    try {
      const device = deviceFromPath(path);
      if (device) devices.push(device);
    } catch {
      // Gone since the listing: nothing to give.
    }
  }
  return devices;
}

/** Adds `devices` to the spec's `linux.devices` (replacing any at the same path). */
export function addLinuxDevices(spec: BundleConfig, devices: LinuxDevice[]): void {
  const linux = (spec.linux ??= {});
  const paths = new Set(devices.map((d) => d.path));
  const existing = Array.isArray(linux.devices) ? (linux.devices as LinuxDevice[]) : [];
  linux.devices = [...existing.filter((d) => !paths.has(d.path)), ...devices];
}

/** The spec's `linux.resources` (made when absent). */
export function linuxResources(spec: BundleConfig): Record<string, unknown> {
  const linux = (spec.linux ??= {});
  const resources = (linux.resources ??= {}) as Record<string, unknown>;
  return resources;
}

function bindOptions(
  mount: Mount,
  source: string,
  spec: BundleConfig,
  ctx: MountSpecContext,
): string[] {
  const linux = (spec.linux ??= {});
  const mountInfo = () => ctx.mountInfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
  let propagation: string;
  switch (mount.propagation) {
    case MountPropagation.PROPAGATION_PRIVATE:
      // runc's default root propagation is rprivate already.
      propagation = 'rprivate';
      break;
    case MountPropagation.PROPAGATION_HOST_TO_CONTAINER:
      checkPropagation(source, mountInfo(), ['shared:', 'master:'], 'host-to-container');
      propagation = 'rslave';
      if (linux.rootfsPropagation !== 'rshared' && linux.rootfsPropagation !== 'rslave')
        linux.rootfsPropagation = 'rslave';
      break;
    case MountPropagation.PROPAGATION_BIDIRECTIONAL:
      checkPropagation(source, mountInfo(), ['shared:'], 'bidirectional');
      propagation = 'rshared';
      linux.rootfsPropagation = 'rshared';
      break;
    default:
      return invalid(`unknown mount propagation ${String(mount.propagation)}`);
  }
  // A read-only rootfs does not make the volumes read-only (containerd's choice, unlike docker's).
  return ['rbind', propagation, mount.readonly ? 'ro' : 'rw'];
}

/**
 * The spec with `mounts` (CRI mounts, and ctx.extraMounts under them) and
 * `devices` added; returns a new spec.
 */
export function applyMounts(
  spec: BundleConfig,
  mounts: Mount[],
  devices: Device[],
  ctx: MountSpecContext = {},
): BundleConfig {
  const out = structuredClone(spec);
  // Every check that needs no host state first: a refused config makes no folder.
  const wanted = new Map<string, Mount>();
  const check = (mount: Mount) => {
    hostPath(mount.hostPath, 'a mount host_path');
    if (!PROPAGATIONS.has(mount.propagation))
      invalid(`unknown mount propagation ${String(mount.propagation)}`);
    return containerPath(mount.containerPath, 'a mount container_path');
  };
  for (const mount of mounts) {
    const destination = check(mount);
    if (wanted.has(destination)) invalid(`two mounts at ${destination}`);
    wanted.set(destination, mount);
  }
  for (const mount of ctx.extraMounts ?? []) {
    const destination = check(mount);
    if (!wanted.has(destination)) wanted.set(destination, mount);
  }
  for (const device of devices) {
    hostPath(device.hostPath, 'a device host_path');
    if (device.containerPath) containerPath(device.containerPath, 'a device container_path');
    devicePermissions(device);
  }
  const ordered = [...wanted.entries()].sort(([a], [b]) => depth(a) - depth(b));

  const defaults = Array.isArray(out.mounts) ? (out.mounts as OciMount[]) : [];
  const replacesDev = wanted.has('/dev');
  const kept = defaults.filter((m) => {
    const destination = posix.normalize(m.destination).replace(/(.)\/+$/, '$1');
    return !wanted.has(destination) && !(replacesDev && destination.startsWith('/dev/'));
  });
  const added: OciMount[] = [];
  for (const [destination, mount] of ordered) {
    const source = mountSource(mount.hostPath);
    added.push({
      destination,
      type: 'bind',
      source,
      options: bindOptions(mount, source, out, ctx),
    });
  }
  out.mounts = [...kept, ...added];

  if (devices.length > 0) {
    const linuxDevices: LinuxDevice[] = [];
    const rules: DeviceCgroupRule[] = [];
    for (const device of devices) {
      const host = hostPath(device.hostPath, 'a device host_path');
      const path = device.containerPath
        ? containerPath(device.containerPath, 'a device container_path')
        : host;
      const access = devicePermissions(device);
      let found: LinuxDevice | undefined;
      try {
        found = deviceFromPath(realpathSync(host));
      } catch (err) {
        throw new InvalidDeviceError(host, (err as Error).message, { cause: err });
      }
      if (!found) throw new InvalidDeviceError(host, 'not a character or block device');
      linuxDevices.push({ ...found, path });
      rules.push({
        allow: true,
        type: found.type,
        major: found.major,
        minor: found.minor,
        access,
      });
    }
    addLinuxDevices(out, linuxDevices);
    const resources = linuxResources(out);
    const existing = Array.isArray(resources.devices)
      ? (resources.devices as DeviceCgroupRule[])
      : [];
    resources.devices = [...existing, ...rules];
  }
  return out;
}
