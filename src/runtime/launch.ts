/**
 * Starting one process of a container through a shim, and undoing a start
 * that failed: no process, runtime state, cgroup or folder may stay behind,
 * and nothing may be touched that this start did not create.
 */
import { rmSync, statfsSync } from 'node:fs';
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
import {
  deleteCommand,
  hasSystemdCgroupArg,
  isNotExistMessage,
  stateCommand,
} from './oci/commands.js';
import { lastRuntimeErrorInFile } from './oci/log.js';
import { ContainerProcess, type ProcessOwner } from './process.js';
import { isSameProcess } from './procfs.js';
import { removeEmptyCgroups, runtimeCgroupDirs } from './cgroups/runtime-cgroups.js';
import type { ShimMode } from './shim/argv.js';
import { launchShim } from './shim/launch.js';
import { stateWriteError } from './state/files.js';
import { processFiles, type ProcessFiles } from './state/layout.js';
import { readPid, readStartTime, writeProcessState, type ProcessState } from './state/records.js';
import { mountRootfs, unmountRootfs, type OwnedRootfs } from './rootfs.js';
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
  /** The rootfs the container owns: mounted before the runtime's create, unmounted if the start is refused. */
  rootfs?: OwnedRootfs | undefined;
  /** Init only: its shim may remove the runtime's container itself after the exit (shim/self-delete.ts). */
  selfDelete?: boolean | undefined;
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
    throw stateWriteError(files.dir, err);
  }
  const { state } = request;
  let stdio: PreparedStdio | undefined;
  let mounted = false;
  try {
    if (request.rootfs && request.mode !== 'exec') mounted = await mountRootfs(request.rootfs);
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
        selfDelete: request.selfDelete === true,
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
    // After the runtime's delete: its container no longer holds the rootfs.
    if (mounted && request.rootfs) await unmountRootfs(request.rootfs).catch(() => {});
    throw err;
  }
}

/**
 * How the shim reports a runtime that failed: `RUNTIME VERB failed (exit
 * status N)`, then `: WORDS` when the runtime said something (its log's
 * error, else the last lines of its stderr).
 */
const RUNTIME_FAILED = / failed \(exit status (\d+)\)(?:: (.+))?$/s;

/** The typed error for a shim's `error` report. */
function refusal(
  owner: LaunchOwner,
  request: LaunchRequest,
  files: ProcessFiles,
  shimMessage: string,
): Error {
  const failed = RUNTIME_FAILED.exec(shimMessage);
  const words = lastRuntimeErrorInFile(files.runtimeLog) ?? failed?.[2];
  if (words !== undefined) {
    return new RuntimeError(
      `${owner.runtime} ${request.mode}: ${words}${noRoomHint(files.dir)}`,
      [owner.runtime, request.mode],
      failed ? Number(failed[1]) : null,
    );
  }
  // The seed's case (docs/SEED.md): the runtime failed without a word.
  if (failed)
    return new ContainerNotStartedError(
      `containerd: container not started (${shimMessage}${noRoomHint(files.dir)})`,
    );
  return new ShimError(
    `shim could not ${request.mode} process ${request.processId}: ${shimMessage}`,
  );
}

/** Room left below which a wordless runtime failure is put down to a full disk. */
const NO_ROOM_BYTES = 64 * 1024;

/**
 * A runtime that failed on a full disk could not write its words, or says
 * something else (its log is in the process folder): say what the disk says.
 */
function noRoomHint(dir: string): string {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize < NO_ROOM_BYTES ? `; no space left on the state folder's device` : '';
  } catch {
    return '';
  }
}

/**
 * After a failed start. The runtime's container is force-deleted only when
 * the runtime says it holds one with this bundle created by this start (a
 * refused start must not kill a namesake it never made); when the runtime
 * has no record of it (killed before it wrote its state), what it may have
 * left is cleared: its torn state folder (`delete --force` of an id it
 * cannot load touches no container) and the cgroups it may have made.
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
    const held = await runtimeHolds(owner, startedAt);
    // Ours, or none the runtime can load: a runtime killed mid-create may
    // have left its state folder without a state in it, which would refuse
    // the id from then on; `delete --force` clears that too (runc).
    if (held === 'ours' || held === 'none') {
      await runRuntime(owner, deleteCommand(owner.id, { force: true }), {
        timeoutMs: UNDO_DELETE_TIMEOUT_MS,
      }).catch(() => {});
    }
    if (held !== 'theirs') {
      const dirs = runtimeCgroupDirs(request.cgroupsPath, owner.id, {
        systemd: hasSystemdCgroupArg(owner.runtimeArgs),
      });
      await removeEmptyCgroups(dirs);
    }
  }
  rmSync(files.dir, { recursive: true, force: true });
}

/**
 * ours: the runtime has this container, made from our bundle since the start
 * began; theirs: it has one that is someone else's; none: it says it has
 * none; unknown: it cannot say (no answer in time, an answer we cannot read).
 */
async function runtimeHolds(
  owner: LaunchOwner,
  startedAt: number,
): Promise<'ours' | 'theirs' | 'none' | 'unknown'> {
  let output: string;
  try {
    output = await runRuntime(owner, stateCommand(owner.id), { timeoutMs: UNDO_STATE_TIMEOUT_MS });
  } catch (err) {
    return err instanceof RuntimeError && isNotExistMessage(err.message) ? 'none' : 'unknown';
  }
  try {
    const state = JSON.parse(output) as { bundle?: unknown; created?: unknown };
    const created = typeof state.created === 'string' ? Date.parse(state.created) : NaN;
    // A second of slack: the runtime's clock reading and ours are not the same instant.
    return state.bundle === owner.path && !(created < startedAt - 1000) ? 'ours' : 'theirs';
  } catch {
    return 'unknown';
  }
}
