/**
 * One builder per OCI runtime subcommand that the library runs itself (the
 * shim builds create/run/exec/restore/delete in C: shim/src/runtime_argv.c).
 * Global arguments (`--root`, `--log-format`) are added by the runner.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isErrnoException } from '../errors.js';

export function stateCommand(id: string): string[] {
  return ['state', id];
}

export function startCommand(id: string): string[] {
  return ['start', id];
}

export function pauseCommand(id: string): string[] {
  return ['pause', id];
}

export function resumeCommand(id: string): string[] {
  return ['resume', id];
}

/** `--force` also kills a running container. */
export function deleteCommand(id: string, options: { force?: boolean } = {}): string[] {
  return options.force ? ['delete', '--force', id] : ['delete', id];
}

/** Reads an OCI LinuxResources object on stdin. */
export function updateCommand(id: string): string[] {
  return ['update', '--resources', '-', id];
}

export interface CheckpointCommandOptions {
  imagePath: string;
  workPath: string;
  leaveRunning: boolean;
  /** Flags shared with restore (`--tcp-established`, `--empty-ns NS`, ...). */
  criuFlags: readonly string[];
}

export function checkpointCommand(id: string, options: CheckpointCommandOptions): string[] {
  const args = ['checkpoint', '--image-path', options.imagePath, '--work-path', options.workPath];
  if (options.leaveRunning) args.push('--leave-running');
  args.push(...options.criuFlags, id);
  return args;
}

/** True when a runtime's error says the container is not there (runc, crun). */
export function isNotExistMessage(message: string): boolean {
  return /does not exist|not exist|not found|no such/i.test(message);
}

/** `--root DIR` or `--root=DIR` among global runtime arguments. */
export function hasRootArg(runtimeArgs: readonly string[]): boolean {
  return runtimeArgs.some((arg) => arg === '--root' || arg.startsWith('--root='));
}

/** The value of `--root DIR` / `--root=DIR` among global runtime arguments. */
export function rootArg(runtimeArgs: readonly string[]): string | undefined {
  for (let i = 0; i < runtimeArgs.length; i++) {
    const arg = runtimeArgs[i]!;
    if (arg === '--root') return runtimeArgs[i + 1];
    if (arg.startsWith('--root=')) return arg.slice('--root='.length);
  }
  return undefined;
}

/**
 * Whether the runtime may still hold state for `id`, read from its state
 * folder without running it (a runtime that hangs would make every delete
 * wait for its bound). runc and crun keep `<root>/<id>/`; for any other
 * runtime (a wrapper, say) an id that names no entry of its root, nor begins
 * one (runsc keeps `<root>/<id>_sandbox:...`), has no state. Undefined
 * when only asking the runtime tells (no root known, or an entry that may
 * be the id's).
 */
export function runtimeStateExists(
  runtime: string,
  runtimeArgs: readonly string[],
  id: string,
): boolean | undefined {
  const root = rootArg(runtimeArgs);
  if (root === undefined) return undefined;
  const name = basename(runtime);
  if (name === 'runc' || name === 'crun') return existsSync(join(root, id));
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (err) {
    // A runtime that never ran (or never kept anything) has no root yet.
    if (isErrnoException(err, 'ENOENT')) return false;
    return undefined;
  }
  return entries.some((entry) => entry.startsWith(id)) ? undefined : false;
}

/** The systemd cgroup driver (`--systemd-cgroup`) among global runtime arguments. */
export function hasSystemdCgroupArg(runtimeArgs: readonly string[]): boolean {
  return runtimeArgs.includes('--systemd-cgroup');
}
