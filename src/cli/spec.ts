/**
 * Bundle configs the CLI writes: `berth spec` (what `runc spec` writes, for
 * people to edit) and `berth run --rootfs` / `--bundle` with overrides (the
 * same defaults with the command, environment, limits of the command line).
 * Numbers stay exact: configs are read and written with lossless-json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'lossless-json';
import { defaultBundleConfig } from '../runtime/index.js';
import { CliError } from './errors.js';

/** CFS period for --cpus, microseconds (docker's). */
export const CPU_PERIOD_US = 100_000;

/** What the command line can change in a process and its limits. */
export interface Overrides {
  /** The process's command; undefined keeps the bundle's. */
  args?: string[];
  /** KEY=VALUE entries set on top of the bundle's environment (same KEY replaced). */
  env?: string[];
  cwd?: string;
  terminal?: boolean;
  /** The terminal's size from the start (OCI process.consoleSize), so the first output fits. */
  consoleSize?: { width: number; height: number };
  hostname?: string;
  /** Memory limit in bytes (swap limited to the same: no escape through swap). */
  memory?: bigint;
  /** CPUs' worth of time per period (CFS quota). */
  cpus?: number;
}

export interface SpecOptions extends Overrides {
  /** root.path: relative to the bundle or absolute; default "rootfs" as runc spec. */
  rootfs?: string;
}

type Json = Record<string, unknown>;

/** The options of `spec` and `run` that change the process or its limits. */
export interface OverrideOptions {
  env?: string[] | undefined;
  cwd?: string | undefined;
  hostname?: string | undefined;
  memory?: bigint | undefined;
  cpus?: number | undefined;
}

/** The overrides that `spec` and `run` take from their command line (CMD, -e, --cwd, limits). */
export function overridesFromOptions(opts: OverrideOptions, command: string[]): Overrides {
  return {
    ...(command.length ? { args: command } : {}),
    ...(opts.env?.length ? { env: opts.env } : {}),
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
    ...(opts.memory !== undefined ? { memory: opts.memory } : {}),
    ...(opts.cpus !== undefined ? { cpus: opts.cpus } : {}),
  };
}

/** The library's default config (what `runc spec` writes, plus /tmp) with the command line's overrides. */
export function defaultSpec(options: SpecOptions = {}): Json {
  return applyOverrides(defaultBundleConfig(options.rootfs), options);
}

function object(parent: Json, key: string): Json {
  const value = parent[key];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  const created: Json = {};
  parent[key] = created;
  return created;
}

/** KEY=VALUE entries set on top of `base`: a KEY already there is replaced in place. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const env = [...base];
  for (const entry of extra) {
    const key = entry.split('=', 1)[0];
    const at = env.findIndex((e) => e.split('=', 1)[0] === key);
    if (at >= 0) env[at] = entry;
    else env.push(entry);
  }
  return env;
}

/** Applies the command line's overrides to a parsed config (in place; returned for chaining). */
export function applyOverrides(config: Json, overrides: Overrides): Json {
  const proc = object(config, 'process');
  if (overrides.args?.length) proc.args = [...overrides.args];
  if (overrides.env?.length) {
    const base = Array.isArray(proc.env) ? (proc.env as string[]) : [];
    proc.env = mergeEnv(base, overrides.env);
  }
  if (overrides.cwd !== undefined) proc.cwd = overrides.cwd;
  if (overrides.terminal !== undefined) proc.terminal = overrides.terminal;
  if (overrides.consoleSize && proc.terminal === true)
    proc.consoleSize = { height: overrides.consoleSize.height, width: overrides.consoleSize.width };
  if (overrides.hostname !== undefined) config.hostname = overrides.hostname;
  if (overrides.memory !== undefined || overrides.cpus !== undefined) {
    const resources = object(object(config, 'linux'), 'resources');
    if (overrides.memory !== undefined) {
      const memory = object(resources, 'memory');
      memory.limit = overrides.memory;
      memory.swap = overrides.memory;
    }
    if (overrides.cpus !== undefined) {
      const cpu = object(resources, 'cpu');
      cpu.period = CPU_PERIOD_US;
      cpu.quota = Math.max(1000, Math.round(overrides.cpus * CPU_PERIOD_US));
    }
  }
  return config;
}

export function configJson(config: Json): string {
  return `${stringify(config, undefined, 2)}\n`;
}

/**
 * Reads `bundle`/config.json and makes it stand on its own elsewhere: the
 * rootfs and relative bind-mount sources become absolute paths into `bundle`.
 */
export function readRelocatedConfig(bundle: string): Json {
  const path = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read the bundle's config: ${(err as Error).message}`,
      (err as NodeJS.ErrnoException).code ?? 'ERR_BUNDLE_NOT_FOUND',
    );
  }
  let config: unknown;
  try {
    config = parse(text);
  } catch (err) {
    throw new CliError(`${path}: ${(err as Error).message}`, 'ERR_INVALID_BUNDLE_CONFIG');
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new CliError(`${path}: not a JSON object`, 'ERR_INVALID_BUNDLE_CONFIG');
  }
  const json = config as Json;
  const root = object(json, 'root');
  root.path = resolve(bundle, typeof root.path === 'string' ? root.path : 'rootfs');
  if (Array.isArray(json.mounts)) {
    for (const mount of json.mounts as Json[]) {
      const bind =
        mount.type === 'bind' ||
        (Array.isArray(mount.options) && mount.options.some((o) => o === 'bind' || o === 'rbind'));
      if (bind && typeof mount.source === 'string' && !isAbsolute(mount.source))
        mount.source = resolve(bundle, mount.source);
    }
  }
  return json;
}

/** Whether the bundle's process wants a terminal (ctr reads it to choose raw mode). */
export function bundleWantsTerminal(bundle: string): boolean {
  const config = readRelocatedConfig(bundle);
  const proc = config.process as Json | undefined;
  return proc?.terminal === true;
}

/** Writes `config` as `dir`/config.json (dir made owner-only if new). */
export function writeConfig(dir: string, config: Json): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'config.json');
  writeFileSync(path, configJson(config), { mode: 0o644 });
  return path;
}
