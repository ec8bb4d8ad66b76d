/**
 * berthd's command line: containerd v0.2.8's daemon flags, parsed as Go's
 * flag package (under urfave/cli) did, so that a script or a Docker engine
 * that runs `containerd ...` can run `berthd` with the same arguments:
 * `--flag value`, `--flag=value`, `-flag value`, `-flag=value`, the short
 * aliases `-l` and `-r`, bool flags as `--debug` or `--debug=false`, and
 * `--runtime-args` repeated. Pure: no I/O, no process exit.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  Command,
  CommanderError,
  InvalidArgumentError as CommanderArgumentError,
  Option,
} from 'commander';
import { DEFAULT_ADDRESS, parseUnixAddress } from '../api/address.js';
import { formatGoDuration, parseGoDuration } from '../api/duration.js';
// The small modules only: berthd without --cri-listen loads none of the CRI.
import { DEFAULT_CNI_BIN_DIRS, DEFAULT_CNI_CONF_DIR } from '../cri/network-status.js';
import { DEFAULT_NETNS_DIR } from '../cri/netns.js';
import { parseReference } from '../images/reference.js';
import { DEFAULT_RUNTIME, DEFAULT_START_TIMEOUT_MS } from '../runtime/index.js';
import { DEFAULT_RETAIN_COUNT } from '../supervisor/journal.js';

export const DEFAULT_STATE_DIR = '/run/berth';
/** The kubelet's (and containerd's) pause image for pod sandboxes. */
export const DEFAULT_SANDBOX_IMAGE = 'registry.k8s.io/pause:3.9';
/** Exec/attach/port-forward URLs are for clients on this host; port 0 picks a free one. */
export const DEFAULT_STREAMING_ADDRESS = '127.0.0.1:0';

/** pino's levels; containerd's (logrus) `panic` maps to fatal, `warning` to warn. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface DaemonOptions {
  /** unix:///path */
  listen: string;
  /** Absolute. */
  stateDir: string;
  runtime: string;
  runtimeArgs: string[];
  /** A berth-shim path; undefined: berth's own (containerd's shim names are not one). */
  shim: string | undefined;
  startTimeoutMs: number;
  retainCount: number;
  logLevel: LogLevel;
  /** Accepted for compatibility; berth has no metrics. */
  metricsIntervalMs: number;
  graphiteAddress: string | undefined;
  pprofAddress: string | undefined;
  /** What the daemon should log once its logger exists: flags accepted but not honoured. */
  warnings: string[];
  /** unix:///path of the CRI socket; undefined: berthd serves no CRI. */
  criListen: string | undefined;
  /** The image store's root (absolute); undefined: the images layer's default. */
  store: string | undefined;
  /** Absolute. */
  cniConfDir: string;
  /** Absolute, searched in order. */
  cniBinDirs: string[];
  sandboxImage: string;
  /** Where the CRI streaming server (exec, attach, port-forward) listens. */
  streamingAddress: { host: string; port: number };
  /** Where pods' network namespaces are bound (absolute). */
  netnsDir: string;
}

export type ParseResult =
  | { kind: 'run'; options: DaemonOptions }
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string };

/** A command line berthd cannot run with: the message says why. */
export class FlagError extends Error {
  readonly code = 'ERR_FLAGS';
}

function duration(flag: string, { positive }: { positive: boolean }) {
  return (value: string): number => {
    let ms: number;
    try {
      ms = parseGoDuration(value);
    } catch (err) {
      throw new CommanderArgumentError((err as Error).message);
    }
    if (ms < 0 || (positive && ms === 0)) {
      throw new CommanderArgumentError(
        `${flag} must be ${positive ? 'greater than zero' : 'zero or more'}, got ${value}`,
      );
    }
    return ms;
  };
}

function retainCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new CommanderArgumentError(`expected a whole number of events, 1 or more`);
  }
  return Number(value);
}

const LOG_LEVELS: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'fatal',
};

function logLevel(value: string): LogLevel {
  const level = LOG_LEVELS[value.toLowerCase()];
  if (!level) {
    throw new CommanderArgumentError(
      `expected one of debug, info, warn, error, fatal, panic (or trace)`,
    );
  }
  return level;
}

/** Go's form only (unix:///path), checked by the one parser the server uses too. */
function unixAddress(flag: string) {
  return (value: string): string => {
    if (!/^unix:\/\/\/./.test(value)) {
      throw new CommanderArgumentError(`${flag} must be unix:///absolute/path, got ${value}`);
    }
    try {
      parseUnixAddress(value);
    } catch (err) {
      throw new CommanderArgumentError(`${flag}: ${(err as Error).message}`);
    }
    return value;
  };
}

function sandboxImage(value: string): string {
  try {
    parseReference(value);
  } catch (err) {
    throw new CommanderArgumentError((err as Error).message);
  }
  return value;
}

/** `host:port` or `[v6]:port`, port 0 to 65535, as Go's net.SplitHostPort reads it. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new FlagError(`${flag} must be host:port (e.g. 127.0.0.1:0), got ${value}`);
  }
  return { host: match[1] ?? match[2]!, port };
}

// Go's flag syntax → commander's.

/** Long names and their aliases, as urfave/cli registered them (each alias is a flag of its own). */
const ALIASES: Record<string, string> = { l: 'listen', r: 'runtime', h: 'help', v: 'version' };
const BOOL_FLAGS = new Set(['debug', 'help', 'version']);
const VALUE_FLAGS = new Set([
  'listen',
  'state-dir',
  'runtime',
  'runtime-args',
  'shim',
  'start-timeout',
  'retain-count',
  'log-level',
  'metrics-interval',
  'graphite-address',
  'pprof-address',
  'cri-listen',
  'store',
  'cni-conf-dir',
  'cni-bin-dir',
  'sandbox-image',
  'streaming-address',
  'netns-dir',
]);

/** strconv.ParseBool, as Go's flag package reads `-debug=VALUE`. */
function goBool(flag: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new FlagError(`invalid boolean value ${JSON.stringify(value)} for -${flag}`);
}

/**
 * Rewrites Go-style arguments into the `--long[=value]` forms commander reads.
 * A value flag takes the next argument whatever it looks like (Go's flag
 * does: `--runtime-args --systemd-cgroup` passes "--systemd-cgroup").
 */
export function normalizeGoArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--' || arg === '-') {
      out.push(...argv.slice(i));
      break;
    }
    const match = /^--?([^=-][^=]*)(=(.*))?$/s.exec(arg);
    if (!match) {
      out.push(arg);
      continue;
    }
    const name = ALIASES[match[1]!] ?? match[1]!;
    const value = match[3];
    if (BOOL_FLAGS.has(name)) {
      if (value === undefined || goBool(name, value)) out.push(`--${name}`);
      else if (name === 'debug') out.push('--no-debug');
    } else if (VALUE_FLAGS.has(name)) {
      if (value !== undefined) out.push(`--${name}=${value}`);
      else if (i + 1 < argv.length) out.push(`--${name}=${argv[++i]!}`);
      else throw new FlagError(`flag needs an argument: -${match[1]!}`);
    } else {
      // Unknown: commander reports it by the name the user wrote.
      out.push(arg);
    }
  }
  return out;
}

/** Whether `--shim` names containerd's own shim (Docker passes docker-containerd-shim). */
export function isContainerdShim(shim: string): boolean {
  const base = shim.split('/').pop() ?? shim;
  return /^(docker-)?containerd-shim$/.test(base);
}

function program(version: string): Command {
  const collect = (value: string, previous: string[]) => [...previous, value];
  return new Command('berthd')
    .description(
      'berth daemon: containers on an OCI runtime behind containerd v0.2.8’s gRPC API, on a unix socket',
    )
    .version(`berthd ${version}`, '--version', 'print the version')
    .helpOption('--help', 'show the flags')
    .addOption(
      new Option(
        '--listen <address>',
        'unix:///path on which the gRPC API listens (also -l)',
      ).default(DEFAULT_ADDRESS),
    )
    .option('--state-dir <dir>', 'state directory', DEFAULT_STATE_DIR)
    .option(
      '--runtime <name>',
      'name or path of the OCI runtime to run containers with (also -r)',
      DEFAULT_RUNTIME,
    )
    .option(
      '--runtime-args <arg>',
      'an argument for the runtime, before every subcommand (repeatable)',
      collect,
      [] as string[],
    )
    .option('--shim <path>', "path of berth-shim (containerd's own shim names are ignored)")
    .option(
      '--start-timeout <duration>',
      `how long a container may take to start, Go duration (default ${formatGoDuration(DEFAULT_START_TIMEOUT_MS)})`,
      duration('--start-timeout', { positive: true }),
    )
    .option(
      '--retain-count <n>',
      `events kept in the event log (default ${DEFAULT_RETAIN_COUNT})`,
      retainCount,
    )
    .option('--debug', 'log at debug level')
    .addOption(new Option('--no-debug').hideHelp())
    .option(
      '--log-level <level>',
      'debug, info, warn, error, fatal or panic (overrides --debug)',
      logLevel,
    )
    .option(
      '--metrics-interval <duration>',
      'accepted for compatibility; berth has no metrics (0 disables)',
      duration('--metrics-interval', { positive: false }),
    )
    .option('--graphite-address <address>', 'accepted for compatibility; not supported')
    .option('--pprof-address <address>', 'accepted for compatibility; not supported')
    .option(
      '--cri-listen <address>',
      'unix:///path on which to serve the Kubernetes CRI (runtime.v1); off unless given',
      unixAddress('--cri-listen'),
    )
    .option('--store <dir>', 'image store (default $BERTH_STORE, else /var/lib/berth)')
    .option('--cni-conf-dir <dir>', 'CNI network configurations', DEFAULT_CNI_CONF_DIR)
    .option(
      '--cni-bin-dir <dir>',
      `a folder of CNI plugins (repeatable; default ${DEFAULT_CNI_BIN_DIRS.join(' and ')})`,
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option(
      '--sandbox-image <ref>',
      'image of the pod sandboxes’ pause container',
      sandboxImage,
      DEFAULT_SANDBOX_IMAGE,
    )
    .option(
      '--streaming-address <host:port>',
      'where the CRI streaming server (exec, attach, port-forward) listens',
      DEFAULT_STREAMING_ADDRESS,
    )
    .option('--netns-dir <dir>', 'where pods’ network namespaces are bound', DEFAULT_NETNS_DIR)
    .allowExcessArguments(false)
    .allowUnknownOption(false)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
}

interface Parsed {
  listen: string;
  stateDir: string;
  runtime: string;
  runtimeArgs: string[];
  shim?: string;
  startTimeout?: number;
  retainCount?: number;
  debug?: boolean;
  logLevel?: LogLevel;
  metricsInterval?: number;
  graphiteAddress?: string;
  pprofAddress?: string;
  criListen?: string;
  store?: string;
  cniConfDir: string;
  cniBinDir?: string[];
  sandboxImage: string;
  streamingAddress: string;
  netnsDir: string;
}

/**
 * The daemon's options from its arguments (without node and the script).
 * Throws FlagError with a message fit to print as it is.
 */
export function parseFlags(
  argv: readonly string[],
  { version = '0.0.0', cwd = '/' }: { version?: string; cwd?: string } = {},
): ParseResult {
  const cmd = program(version);
  let output = '';
  cmd.configureOutput({
    writeOut: (text) => (output += text),
    writeErr: () => {},
  });
  try {
    cmd.parse(normalizeGoArgs(argv), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed') return { kind: 'help', text: output };
      if (err.code === 'commander.version') return { kind: 'version', text: output };
      throw new FlagError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const flags = cmd.opts<Parsed>();
  const warnings: string[] = [];
  let shim = flags.shim;
  if (shim !== undefined && isContainerdShim(shim)) {
    warnings.push(
      `--shim ${shim}: containerd's shim cannot monitor berth's containers; using berth-shim`,
    );
    shim = undefined;
  }
  const metricsIntervalMs = flags.metricsInterval ?? 0;
  if (metricsIntervalMs > 0) {
    warnings.push('--metrics-interval: berth does not collect metrics; the flag is ignored');
  }
  if (flags.graphiteAddress) {
    warnings.push('--graphite-address: berth does not send metrics to graphite; ignored');
  }
  if (flags.pprofAddress) {
    warnings.push('--pprof-address: berth has no pprof endpoint (Go only); ignored');
  }
  if (flags.stateDir === '') throw new FlagError('--state-dir must not be empty');
  if (flags.runtime === '') throw new FlagError('--runtime must not be empty');
  for (const [flag, dir] of [
    ['--store', flags.store],
    ['--cni-conf-dir', flags.cniConfDir],
    ['--netns-dir', flags.netnsDir],
    ...(flags.cniBinDir ?? []).map((dir) => ['--cni-bin-dir', dir]),
  ] as const) {
    if (dir === '') throw new FlagError(`${flag} must not be empty`);
  }
  const absolute = (dir: string) => (isAbsolute(dir) ? dir : resolve(cwd, dir));
  const streamingAddress = parseHostPort('--streaming-address', flags.streamingAddress);
  return {
    kind: 'run',
    options: {
      listen: flags.listen,
      stateDir: absolute(flags.stateDir),
      runtime: flags.runtime,
      runtimeArgs: flags.runtimeArgs,
      shim,
      startTimeoutMs: flags.startTimeout ?? DEFAULT_START_TIMEOUT_MS,
      retainCount: flags.retainCount ?? DEFAULT_RETAIN_COUNT,
      logLevel: flags.logLevel ?? (flags.debug ? 'debug' : 'info'),
      metricsIntervalMs,
      graphiteAddress: flags.graphiteAddress || undefined,
      pprofAddress: flags.pprofAddress || undefined,
      warnings,
      criListen: flags.criListen,
      store: flags.store === undefined ? undefined : absolute(flags.store),
      cniConfDir: absolute(flags.cniConfDir),
      cniBinDirs: flags.cniBinDir ? flags.cniBinDir.map(absolute) : [...DEFAULT_CNI_BIN_DIRS],
      sandboxImage: flags.sandboxImage,
      streamingAddress,
      netnsDir: absolute(flags.netnsDir),
    },
  };
}
