/**
 * Old clients on a new runtime (docs/DESIGN.md): the OCI spec rc2/rc3 forms that
 * containerd v0.2.8's clients (Docker Engine 1.11–17.05, ctr) write, turned
 * into the forms today's runc reads. Pure functions: the files are
 * shadow-bundle.ts's business.
 *
 * A config is converted with lossless-json, never JSON.parse: a config.json is
 * full of uint64 values (rlimits, seccomp argument masks, memory sizes) that a
 * double cannot hold. 18446744073709551615 through JSON.parse comes back as
 * 18446744073709552000, which Go refuses to unmarshal into a uint64, so a
 * lossy round-trip would break a bundle that runc accepted as written.
 */
import { isAbsolute, resolve } from 'node:path';
import { isLosslessNumber, parse, stringify } from 'lossless-json';
import { InvalidBundleConfigError } from '../runtime/index.js';

/** The runtime spec ≥ 1.0 form of `process.capabilities`, without `ambient`. */
export interface LinuxCapabilities {
  bounding: string[];
  effective: string[];
  inheritable: string[];
  permitted: string[];
}

export interface ConvertedConfig {
  /** The new config.json text. */
  text: string;
  /** One human-readable line per change, for the log. */
  changes: string[];
}

/**
 * runc before 1.0 kept a flat list in the bounding, effective, permitted and
 * inheritable sets alike; ambient did not exist, and leaving it out keeps it
 * empty, as it was. Used for AddProcess, whose capabilities are a flat list.
 */
export function capabilitiesFromFlat(list: readonly string[]): LinuxCapabilities {
  return {
    bounding: [...list],
    effective: [...list],
    inheritable: [...list],
    permitted: [...list],
  };
}

/**
 * Converts a bundle's config.json text to the forms today's runc reads, or
 * returns undefined when nothing needs converting (the client's bundle then
 * runs as it is). Everything not converted, numbers included, is kept as
 * written.
 *
 * With `bundleDir` (the client's bundle, absolute), paths that runc resolves
 * against the bundle folder (`root.path`, relative bind-mount sources) are made
 * absolute, so that the converted copy can live elsewhere. That alone never
 * makes a conversion necessary.
 *
 * Throws InvalidBundleConfigError for text that is not a JSON object, or for a
 * field in neither the old nor the new form.
 */
export function convertBundleConfig(text: string, bundleDir?: string): ConvertedConfig | undefined {
  // Most configs need nothing and hold no number a double cannot: the native
  // parser tells that an order of magnitude faster (on every create).
  if (!LONG_DIGIT_RUN.test(text) && conversions(parseConfig(text, JSON.parse)).length === 0)
    return undefined;
  const config = parseConfig(text, losslessParse);
  const changes = conversions(config);
  if (changes.length === 0) return undefined;
  if (bundleDir !== undefined) changes.push(...relocatePaths(config, bundleDir));
  return { text: stringify(config, null, 2) + '\n', changes };
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Fifteen digits are below 2^53: without a run of sixteen, JSON.parse reads every number exactly. */
const LONG_DIGIT_RUN = /\d{16}/;

/** Go's encoding/json, which runc reads with, lets a repeated key's last value win (JSON.parse too). */
function losslessParse(text: string): unknown {
  return parse(text, null, { onDuplicateKey: ({ newValue }) => newValue });
}

/** Applies every conversion to `config` in place; one line per change. */
function conversions(config: JsonObject): string[] {
  return [...convertCapabilities(config), ...convertSeccomp(config), ...convertSwappiness(config)];
}

function parseConfig(text: string, parser: (text: string) => unknown): JsonObject {
  let config: unknown;
  try {
    config = parser(text);
  } catch (err) {
    throw new InvalidBundleConfigError(`not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!isObject(config)) throw new InvalidBundleConfigError('must hold a JSON object');
  return config;
}

/** The object at `path` under `root`, or undefined where the path stops. */
function objectAt(root: JsonObject, ...path: string[]): JsonObject | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return isObject(node) ? node : undefined;
}

/** rc2/rc3 `process.capabilities: [...]`: runc ≥ 1.0 refuses it outright. */
function convertCapabilities(config: JsonObject): string[] {
  const process = objectAt(config, 'process');
  const caps = process?.capabilities;
  if (!process || !Array.isArray(caps)) return [];
  if (!isStringArray(caps)) {
    throw new InvalidBundleConfigError('"process.capabilities" must list capability names');
  }
  process.capabilities = capabilitiesFromFlat(caps);
  return [
    `process.capabilities: flat list of ${caps.length} → bounding, effective, inheritable, permitted`,
  ];
}

/**
 * rc2 seccomp rules name one syscall each (`name`). runc ≥ 1.0 reads only
 * `names` and silently drops a rule without it: Docker's profile (deny by
 * default, allow by rule) then allows nothing and the container dies at start.
 */
function convertSeccomp(config: JsonObject): string[] {
  const syscalls = objectAt(config, 'linux', 'seccomp')?.syscalls;
  if (!Array.isArray(syscalls)) return [];
  let converted = 0;
  syscalls.forEach((rule: unknown, index) => {
    if (!isObject(rule) || !('name' in rule)) return;
    const { name, names } = rule;
    if (typeof name !== 'string' || (names !== undefined && !isStringArray(names))) {
      throw new InvalidBundleConfigError(
        `"linux.seccomp.syscalls[${index}]": "name" must be a string and "names" a list of strings`,
      );
    }
    // A rule carrying both forms keeps both syscalls.
    rule.names = names === undefined ? [name] : names.includes(name) ? names : [...names, name];
    delete rule.name;
    converted++;
  });
  return converted === 0
    ? []
    : [`linux.seccomp.syscalls: ${converted} rule(s) with "name" → "names": [name]`];
}

/**
 * Docker writes its "not set" swappiness (int64 −1) as a uint64:
 * 18446744073709551615. The field is only meaningful from 0 to 100, so
 * anything outside that (a signed −1 too) means unset, which is the field left
 * out.
 */
function convertSwappiness(config: JsonObject): string[] {
  const memory = objectAt(config, 'linux', 'resources', 'memory');
  const swappiness = memory?.swappiness;
  // A plain number when read by JSON.parse (then at most 15 digits): only asked whether to convert.
  const digits =
    typeof swappiness === 'number' && Number.isInteger(swappiness)
      ? String(swappiness)
      : isLosslessNumber(swappiness)
        ? swappiness.value
        : undefined;
  if (!memory || digits === undefined || !/^-?\d+$/.test(digits)) return [];
  const value = BigInt(digits);
  if (value >= 0n && value <= 100n) return [];
  delete memory.swappiness;
  return [`linux.resources.memory.swappiness: ${digits} (not set) removed`];
}

/** runc resolves these against the bundle folder, which the copy is not in. */
function relocatePaths(config: JsonObject, bundleDir: string): string[] {
  const changes: string[] = [];
  const absolute = (path: string) => resolve(bundleDir, path);
  const root = objectAt(config, 'root');
  if (root && typeof root.path === 'string' && !isAbsolute(root.path)) {
    changes.push(
      `root.path: ${JSON.stringify(root.path)} → ${JSON.stringify(absolute(root.path))}`,
    );
    root.path = absolute(root.path);
  }
  const mounts = config.mounts;
  if (Array.isArray(mounts)) {
    mounts.forEach((mount: unknown, index) => {
      if (!isObject(mount) || typeof mount.source !== 'string' || isAbsolute(mount.source)) return;
      // runc ≥ 1.0 goes by the bind option, runc before it by the type: either makes a bind mount.
      const options = isStringArray(mount.options) ? mount.options : [];
      if (mount.type !== 'bind' && !options.includes('bind') && !options.includes('rbind')) return;
      const source = absolute(mount.source);
      changes.push(
        `mounts[${index}].source: ${JSON.stringify(mount.source)} → ${JSON.stringify(source)}`,
      );
      mount.source = source;
    });
  }
  return changes;
}
