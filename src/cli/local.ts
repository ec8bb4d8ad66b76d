/**
 * `berth run` without a daemon: the runtime library in this process, as
 * podman runs containers without one. The container lives in the CLI's own
 * state dir (never berthd's), is attached to our stdio through the library's
 * pipes, and is deleted once it has exited.
 */
import { Container, type ContainerProcess } from '../runtime/index.js';
import { attachUntilExit } from './attach.js';
import { InterruptedError } from './errors.js';
import { interruptible, progress } from './progress.js';

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
    return await attachUntilExit({
      streams: proc,
      terminal: options.terminal,
      closeStdin: () => void proc.closeStdin().catch(() => {}),
      resize: (width, height) => void proc.resize(width, height).catch(() => {}),
      signal: (number) => void proc.signal(number).catch(() => {}),
      wait: () => proc.wait(),
    });
  } finally {
    // Nothing stays behind a daemonless run: runtime state, cgroups, state folder.
    await container.delete({ force: true });
  }
}
