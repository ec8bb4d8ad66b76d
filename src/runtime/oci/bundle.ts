/** Reading and checking an OCI bundle's config.json before anything is created. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BundleNotFoundError, InvalidBundleConfigError, isErrnoException } from '../errors.js';
import { parseExactJson } from './exact-json.js';
import type { BundleConfig, ProcessSpec } from './spec.js';

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Checks the fields berth relies on; the runtime checks the rest. */
export function checkProcessSpec(spec: unknown, where: string): asserts spec is ProcessSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new InvalidBundleConfigError(`${where}: "process" must be an object`);
  }
  const { args, env, cwd, terminal } = spec as Record<string, unknown>;
  if (!isStringArray(args) || args.length === 0) {
    throw new InvalidBundleConfigError(
      `${where}: "process.args" must be a non-empty array of strings`,
    );
  }
  if (env !== undefined && !isStringArray(env)) {
    throw new InvalidBundleConfigError(`${where}: "process.env" must be an array of strings`);
  }
  if (cwd !== undefined && (typeof cwd !== 'string' || !cwd.startsWith('/'))) {
    throw new InvalidBundleConfigError(`${where}: "process.cwd" must be an absolute path`);
  }
  if (terminal !== undefined && typeof terminal !== 'boolean') {
    throw new InvalidBundleConfigError(`${where}: "process.terminal" must be a boolean`);
  }
}

/** Reads `<bundle>/config.json`, refusing a missing bundle and an unreadable or invalid config. */
export function readBundleConfig(bundle: string): BundleConfig {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(bundle).isDirectory();
  } catch (err) {
    if (isErrnoException(err, 'ENOENT') || isErrnoException(err, 'ENOTDIR')) {
      throw new BundleNotFoundError(`bundle ${bundle} does not exist`, { cause: err });
    }
    throw err;
  }
  if (!isDirectory) throw new BundleNotFoundError(`bundle ${bundle} is not a directory`);
  const path = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) {
      throw new BundleNotFoundError(`bundle ${bundle} has no config.json`, { cause: err });
    }
    throw new InvalidBundleConfigError(`cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let config: unknown;
  try {
    config = parseExactJson(text);
  } catch (err) {
    throw new InvalidBundleConfigError(`${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidBundleConfigError(`${path} must hold a JSON object`);
  }
  const { process: spec, root } = config as Record<string, unknown>;
  checkProcessSpec(spec, path);
  if (root !== undefined) {
    const rootPath = (root as { path?: unknown } | null)?.path;
    if (typeof rootPath !== 'string' || rootPath === '') {
      throw new InvalidBundleConfigError(`${path}: "root.path" must be a non-empty string`);
    }
  }
  return config as BundleConfig;
}
