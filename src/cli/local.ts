/**
 * `berth run` without a daemon: the runtime library in this process, as
 * podman runs containers without one. The container lives in the CLI's own
 * state dir (never berthd's), is attached to our stdio through the library's
 * pipes, and is deleted once it has exited.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Container, type ContainerProcess } from '../runtime/index.js';
import { copyStdio, enterRawMode, followWindowSize } from './attach.js';
import { InterruptedError } from './errors.js';
import { forwardInterrupts, interruptible, progress } from './progress.js';

/** After the exit, how long the output may take to end (the shim drained it already). */
const DRAIN_WAIT_MS = 5_000;

export interface LocalRunOptions {
  stateDir: string;
  id: string;
  bundle: string;
  terminal: boolean;
  runtime?: string;
  runtimeArgs?: string[];
  labels?: string[];
  noPivotRoot?: boolean;
}

/** Runs the container to its end, attached; resolves with its exit status. */
export async function runLocal(options: LocalRunOptions): Promise<number> {
  const container = await Container.create({
    root: options.stateDir,
    id: options.id,
    bundle: options.bundle,
    ...(options.runtime ? { runtime: options.runtime } : {}),
    ...(options.runtimeArgs?.length ? { runtimeArgs: options.runtimeArgs } : {}),
    ...(options.labels?.length ? { labels: options.labels } : {}),
    ...(options.noPivotRoot ? { noPivotRoot: true } : {}),
  });
  let restoreTerminal = () => {};
  let stopResize = () => {};
  let stopSignals = () => {};
  let copying: ReturnType<typeof copyStdio> | undefined;
  try {
    const interrupt = interruptible();
    const shown = progress(`starting ${options.id}`);
    let init: ContainerProcess<Container>;
    try {
      init = await container.run({
        stdio: { stdin: 'pipe', stdout: 'pipe', stderr: options.terminal ? '' : 'pipe' },
        signal: interrupt.signal,
      });
    } catch (err) {
      if (interrupt.signal.aborted)
        throw new InterruptedError(`interrupted while starting ${options.id}`);
      throw err;
    } finally {
      shown.done();
      interrupt.release();
    }
    const proc = init;
    if (options.terminal) restoreTerminal = enterRawMode();
    copying = copyStdio(proc, {
      // The pipe's end is the process's end-of-file; a terminal needs its EOF character.
      ...(options.terminal ? { onStdinEnd: () => void proc.closeStdin().catch(() => {}) } : {}),
    });
    if (options.terminal) {
      stopResize = followWindowSize(({ width, height }) => {
        proc.resize(width, height).catch(() => {});
      });
    }
    stopSignals = forwardInterrupts((number) => {
      proc.signal(number).catch(() => {});
    });
    const status = await proc.wait();
    await Promise.race([copying.drained, sleep(DRAIN_WAIT_MS, undefined, { ref: false })]);
    return status;
  } finally {
    stopSignals();
    stopResize();
    restoreTerminal();
    copying?.stop();
    // Nothing stays behind a daemonless run: runtime state, cgroups, state folder.
    await container.delete({ force: true });
  }
}
