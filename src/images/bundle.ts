/**
 * An image's config made into an OCI bundle config, as `docker run` would
 * run it: Entrypoint + Cmd, Env, WorkingDir and User from the image, then
 * the overrides (`--entrypoint`, the command after the image, `-e`, `-w`,
 * `-u`). The user's and groups' names are resolved in the image's own
 * /etc/passwd and /etc/group. The result starts from the runtime's
 * `defaultBundleConfig`.
 */
import { posix } from 'node:path';
import { DEFAULT_PATH_ENV, defaultBundleConfig, type BundleConfig } from '../runtime/index.js';
import { ImageNoCommandError, InvalidOverrideError } from './use-errors.js';
import { resolveImageUser } from './user.js';

/** What `docker run` lets the command line change about an image's process. */
export interface ImageOverrides {
  /** Replaces the image's Cmd (the command after the image name). */
  args?: string[];
  /** Replaces the image's Entrypoint, and drops its Cmd unless `args` are given; `[]` clears it. */
  entrypoint?: string[];
  /** KEY=VALUE entries on top of the image's Env (a KEY already there is replaced). */
  env?: string[];
  /** Absolute working directory. */
  cwd?: string;
  /** `user[:group]`, names or numbers. */
  user?: string;
  terminal?: boolean;
  consoleSize?: { width: number; height: number };
  hostname?: string;
}

/** The parts of an OCI image config that decide how its containers run. */
export interface RunnableImageConfig {
  config?: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
  } | null;
}

/**
 * docker's default capabilities: images are made to run with them (a
 * Dockerfile's `chown`, `su`, a server that drops to its user), a wider set
 * than `runc spec`'s.
 */
export const DOCKER_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Entries on top of `base`: same KEY replaced in place, new ones appended. */
export function mergeEnvironment(base: readonly string[], extra: readonly string[]): string[] {
  const env = [...base];
  for (const entry of extra) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new InvalidOverrideError(`environment entry "${entry}" is not KEY=VALUE`);
    const key = entry.slice(0, eq);
    const at = env.findIndex((e) => e.slice(0, e.indexOf('=')) === key);
    if (at >= 0) env[at] = entry;
    else env.push(entry);
  }
  return env;
}

function hasKey(env: readonly string[], key: string): boolean {
  return env.some((e) => e.startsWith(`${key}=`));
}

/** Entrypoint + Cmd after the overrides, by docker's rules. */
export function imageArgs(
  imageName: string,
  image: RunnableImageConfig,
  overrides: ImageOverrides,
): string[] {
  const entrypoint = overrides.entrypoint ?? image.config?.Entrypoint ?? [];
  // A new entrypoint makes the image's Cmd meaningless (docker drops it too).
  const cmd = overrides.args?.length
    ? overrides.args
    : overrides.entrypoint
      ? []
      : (image.config?.Cmd ?? []);
  const args = [...entrypoint.filter((part, i) => i > 0 || part !== ''), ...cmd];
  if (args.length === 0) throw new ImageNoCommandError(imageName);
  return args;
}

/**
 * The bundle config of a container of the image. `layers`: its unpacked
 * layer folders, lowest first (for the user and group names); `rootfs`: the
 * root.path to write.
 */
export async function imageBundleConfig(options: {
  imageName: string;
  image: RunnableImageConfig;
  layers: readonly string[];
  overrides?: ImageOverrides;
  rootfs?: string;
  hostname?: string;
}): Promise<BundleConfig> {
  const overrides = options.overrides ?? {};
  const image = options.image.config ?? {};
  const cwd = overrides.cwd ?? (image.WorkingDir || '/');
  if (!posix.isAbsolute(cwd))
    throw new InvalidOverrideError(`the working directory must be absolute, not "${cwd}"`);
  const args = imageArgs(options.imageName, options.image, overrides);
  const user = await resolveImageUser(options.layers, overrides.user ?? image.User ?? '');
  const terminal = overrides.terminal ?? false;

  let env = mergeEnvironment([], image.Env ?? []);
  if (!hasKey(env, 'PATH')) env.unshift(DEFAULT_PATH_ENV);
  const hostname = overrides.hostname ?? options.hostname ?? 'berth';
  env = mergeEnvironment(env, [`HOSTNAME=${hostname}`]);
  if (terminal && !hasKey(env, 'TERM')) env.push('TERM=xterm');
  env = mergeEnvironment(env, overrides.env ?? []);
  if (!hasKey(env, 'HOME')) env.push(`HOME=${user.home}`);

  const config = defaultBundleConfig(options.rootfs ?? 'rootfs');
  const caps = () => [...DOCKER_CAPABILITIES];
  Object.assign(config.process, {
    terminal,
    args,
    env,
    cwd: posix.normalize(cwd),
    user: {
      uid: user.uid,
      gid: user.gid,
      ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}),
    },
    capabilities: { bounding: caps(), effective: caps(), permitted: caps(), ambient: [] },
  });
  if (terminal && overrides.consoleSize) config.process.consoleSize = { ...overrides.consoleSize };
  // The overlay is writable, and the image's /tmp is the image's: no tmpfs over it.
  config.root = { path: options.rootfs ?? 'rootfs', readonly: false };
  config.mounts = config.mounts.filter((m) => m.destination !== '/tmp');
  config.hostname = hostname;
  return config;
}
