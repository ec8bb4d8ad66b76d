/**
 * Starting one process of a container through a shim, and undoing a start
 * that failed: no process, runtime state, cgroup or folder may stay behind,
 * and nothing may be touched that this start did not create.
 */
import { rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ContainerNotFoundError,
  ContainerNotStartedError,
  ProcessExistsError,
  RuntimeError,
  ShimError,
  isErrnoException,
} from './errors.js';
import { runRuntime } from './oci/cli.js';
import { deleteCommand, hasSystemdCgroupArg, stateCommand } from './oci/commands.js';
import { lastRuntimeErrorInFile } from './oci/log.js';
import { ContainerProcess, type ProcessOwner } from './process.js';
import { isSameProcess } from './procfs.js';
import { removeEmptyCgroups, runtimeCgroupDirs } from './cgroups/runtime-cgroups.js';
import type { ShimMode } from './shim/argv.js';
import { launchShim } from './shim/launch.js';
import { processFiles, type ProcessFiles } from './state/layout.js';
import { readPid, readStartTime, writeProcessState, type ProcessState } from './state/records.js';
import { prepareStdio, type PreparedStdio, type StdioOptions } from './stdio.js';

/** What launching needs of a container. */
export interface LaunchOwner extends ProcessOwner {
  /** The container's state folder. */
  readonly dir: string;
  /** The bundle. */
  readonly path: string;
  readonly shim: string;
}

export interface LaunchRequest {
  processId: string;
  mode: ShimMode;
  state: ProcessState;
  stdio: StdioOptions;
  signal?: AbortSignal | undefined;
  restoreArgs?: readonly string[];
  drainTimeout?: number | undefined;
  /** The bundle's `linux.cgroupsPath`: what to remove if the runtime cannot. */
  cgroupsPath?: string | undefined;
}

/** Bounds of each runtime call made while undoing a failed start. */
const UNDO_STATE_TIMEOUT_MS = 1000;
const UNDO_DELETE_TIMEOUT_MS = 2000;
/** The shim gives up on a FIFO nobody opens before the start timeout fires, with a clearer error. */
const STDIO_SHARE_OF_TIMEOUT = 0.8;

export async function launchProcess<Owner extends LaunchOwner>(
  owner: Owner,
  request: LaunchRequest,
): Promise<ContainerProcess<Owner>> {
  const startedAt = Date.now();
  const files = processFiles(join(owner.dir, request.processId));
  try {
    await mkdir(files.dir, { mode: 0o711 });
  } catch (err) {
    if (isErrnoException(err, 'EEXIST')) {
      throw new ProcessExistsError(
        `process ${request.processId} already exists in container ${owner.id}`,
      );
    }
    if (isErrnoException(err, 'ENOENT'))
      throw new ContainerNotFoundError(`container ${owner.id} was deleted`);
    throw err;
  }
  const { state } = request;
  let stdio: PreparedStdio | undefined;
  try {
    stdio = await prepareStdio(files.dir, request.stdio);
    state.containerdStdin = stdio.paths.stdin;
    state.containerdStdout = stdio.paths.stdout;
    state.containerdStderr = stdio.paths.stderr;
    await writeProcessState(files, state);
    const report = await launchShim({
      shim: owner.shim,
      cwd: files.dir,
      invocation: {
        mode: request.mode,
        containerId: owner.id,
        bundle: owner.path,
        runtime: owner.runtime,
        runtimeArgs: state.runtimeArgs,
        stdio: stdio.paths,
        terminal: state.terminal === true,
        noPivotRoot: state.noPivotRoot,
        checkpoint: state.checkpoint,
        restoreArgs: request.restoreArgs ?? [],
        stdioTimeoutMs: Math.max(100, owner.timeout * STDIO_SHARE_OF_TIMEOUT),
        drainTimeoutMs: request.drainTimeout,
      },
      timeoutMs: Math.max(1, owner.timeout - (Date.now() - startedAt)),
      signal: request.signal,
    });
    if (!report.ok) throw refusal(owner, request, files, report.message);
    stdio.shimAttached();
    const launched = new ContainerProcess<Owner>({
      owner,
      id: request.processId,
      files,
      state,
      pid: report.pid,
      startTime: readStartTime(files),
      started: request.mode !== 'create',
      streams: stdio,
    });
    await launched.watch();
    return launched;
  } catch (err) {
    stdio?.destroy();
    await undoLaunch(owner, request, files, startedAt);
    throw err;
  }
}

/** The typed error for a shim's `error` report. */
function refusal(
  owner: LaunchOwner,
  request: LaunchRequest,
  files: ProcessFiles,
  shimMessage: string,
): Error {
  const runtimeMessage = lastRuntimeErrorInFile(files.runtimeLog);
  if (runtimeMessage !== undefined) {
    return new RuntimeError(
      `${owner.runtime} ${request.mode}: ${runtimeMessage}`,
      [owner.runtime, request.mode],
      null,
    );
  }
  // The seed's case: the runtime failed without a word.
  if (/ failed \(exit status \d+\)$/.test(shimMessage))
    return new ContainerNotStartedError(`containerd: container not started (${shimMessage})`);
  return new ShimError(
    `shim could not ${request.mode} process ${request.processId}: ${shimMessage}`,
  );
}

/**
 * After a failed start. The runtime's container is force-deleted only when
 * the runtime says it holds one with this bundle created by this start (a
 * refused start must not kill a namesake it never made); when the runtime
 * has no record of it (killed before it wrote its state), the cgroups it may
 * have made are removed here.
 */
async function undoLaunch(
  owner: LaunchOwner,
  request: LaunchRequest,
  files: ProcessFiles,
  startedAt: number,
): Promise<void> {
  const pid = readPid(files);
  if (pid !== undefined && isSameProcess(pid, readStartTime(files))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  if (request.mode !== 'exec') {
    const ours = await runtimeHoldsOurs(owner, startedAt);
    if (ours === true) {
      await runRuntime(owner, deleteCommand(owner.id, { force: true }), {
        timeoutMs: UNDO_DELETE_TIMEOUT_MS,
      }).catch(() => {});
    }
    if (ours !== false) {
      const dirs = runtimeCgroupDirs(request.cgroupsPath, owner.id, {
        systemd: hasSystemdCgroupArg(owner.runtimeArgs),
      });
      await removeEmptyCgroups(dirs);
    }
  }
  rmSync(files.dir, { recursive: true, force: true });
}

/**
 * true: the runtime has this container, made from our bundle since the start
 * began; false: it has one that is someone else's; undefined: it has none (or
 * cannot say).
 */
async function runtimeHoldsOurs(
  owner: LaunchOwner,
  startedAt: number,
): Promise<boolean | undefined> {
  let output: string;
  try {
    output = await runRuntime(owner, stateCommand(owner.id), { timeoutMs: UNDO_STATE_TIMEOUT_MS });
  } catch {
    // Not there (or a runtime that cannot say): nothing of ours for it to delete.
    return undefined;
  }
  try {
    const state = JSON.parse(output) as { bundle?: unknown; created?: unknown };
    const created = typeof state.created === 'string' ? Date.parse(state.created) : NaN;
    // A second of slack: the runtime's clock reading and ours are not the same instant.
    return state.bundle === owner.path && !(created < startedAt - 1000);
  } catch {
    return undefined;
  }
}
