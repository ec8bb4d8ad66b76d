/**
 * Running one CNI plugin binary as the CNI spec (0.4.0, 1.0.0) defines the
 * call: the command and the container in environment variables, the
 * network configuration on stdin, the result (or an error JSON
 * `{code, msg, details}`) on stdout. Every call is bounded in time; a plugin
 * past its time is killed.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { isObject } from './cni-config.js';
import { CniPluginError, CniPluginNotFoundError, CniTimeoutError } from './network-errors.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

export interface PluginCall {
  command: CniCommand;
  containerId: string;
  /** The namespace file; empty on a DEL whose namespace is gone (the spec allows it). */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, already validated (no `;` or `=`). */
  args: ReadonlyArray<readonly [string, string]>;
  binDirs: readonly string[];
  /** The plugin's whole configuration (name, cniVersion, prevResult, runtimeConfig included). */
  config: Record<string, unknown>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Stdout and stderr beyond this are cut: a result is a few KiB. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

/** The first executable `type` in the bin dirs, as libcni's FindInPath looks. */
export async function findPlugin(type: string, binDirs: readonly string[]): Promise<string> {
  for (const dir of binDirs) {
    const path = join(dir, type);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // Not in this one.
    }
  }
  throw new CniPluginNotFoundError(type, binDirs);
}

/** Runs the plugin at `path`; its parsed stdout (undefined when empty, as DEL's is). */
export async function invokePlugin(path: string, call: PluginCall): Promise<unknown> {
  const type = String(call.config.type);
  const bounded = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, bounded]) : bounded;
  const env = {
    ...process.env,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifName,
    CNI_ARGS: call.args.map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: call.binDirs.join(':'),
  };
  const { status, stdout, stderr } = await new Promise<{
    status: number | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn(path, [], { env, signal, killSignal: 'SIGKILL', stdio: 'pipe' });
    const out = collect(child.stdout);
    const err = collect(child.stderr);
    child.on('error', (error) => {
      if (signal.aborted) {
        const why = bounded.aborted ? `did not finish in ${call.timeoutMs} ms` : 'was aborted';
        reject(new CniTimeoutError(`CNI plugin ${type} ${call.command} ${why}`, { cause: error }));
      } else reject(new CniPluginError(type, call.command, undefined, error.message, undefined));
    });
    child.on('close', (code) => {
      if (!signal.aborted) resolve({ status: code, stdout: out(), stderr: err() });
    });
    // A plugin that exits without reading its config closes the pipe: its exit status says why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(call.config));
  });
  if (status !== 0) throw pluginError(type, call.command, status, stdout, stderr);
  if (stdout.trim() === '') return undefined;
  try {
    return JSON.parse(stdout);
  } catch {
    throw new CniPluginError(
      type,
      call.command,
      undefined,
      `invalid result JSON: ${stdout}`,
      undefined,
    );
  }
}

/** The plugin's own error JSON when it wrote one, else its stderr. */
function pluginError(
  type: string,
  command: string,
  status: number | null,
  stdout: string,
  stderr: string,
): CniPluginError {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  if (isObject(json) && typeof json.msg === 'string') {
    const code = typeof json.code === 'number' ? json.code : undefined;
    const details =
      typeof json.details === 'string' && json.details !== '' ? json.details : undefined;
    return new CniPluginError(type, command, code, json.msg, details);
  }
  const said = (stderr.trim() || stdout.trim()).slice(0, 4096);
  return new CniPluginError(type, command, undefined, `exit status ${status}: ${said}`, undefined);
}

function collect(stream: NodeJS.ReadableStream): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    if (size >= MAX_OUTPUT_BYTES) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  return () => Buffer.concat(chunks).subarray(0, MAX_OUTPUT_BYTES).toString('utf8');
}
