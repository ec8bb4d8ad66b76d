/** The shim's command line (shim/PROTOCOL.md, "Command line"), as a pure function. */

export type ShimMode = 'create' | 'run' | 'exec' | 'restore';

export interface ShimInvocation {
  mode: ShimMode;
  containerId: string;
  bundle: string;
  runtime: string;
  runtimeArgs: readonly string[];
  stdio: { stdin: string; stdout: string; stderr: string };
  terminal: boolean;
  noPivotRoot: boolean;
  /** Restore: the checkpoint's image path, and extra `restore` flags. */
  checkpoint?: string;
  restoreArgs?: readonly string[];
  /** How long the shim waits for a reader on a stdout/stderr FIFO. */
  stdioTimeoutMs: number;
  /** After the exit, how long a reader may accept nothing before the rest is discarded (shim default: 30 s). */
  drainTimeoutMs?: number | undefined;
  /** The descriptor of the readiness pipe. */
  readyFd: number;
  /** Init only: the shim removes runc's container itself after the exit (./self-delete.ts). */
  selfDelete?: boolean;
}

export function shimArgs(how: ShimInvocation): string[] {
  const args = ['--ready-fd', String(how.readyFd), '--mode', how.mode];
  args.push('--stdio-timeout', String(Math.max(0, Math.floor(how.stdioTimeoutMs))));
  args.push('--stdin', how.stdio.stdin, '--stdout', how.stdio.stdout, '--stderr', how.stdio.stderr);
  if (how.drainTimeoutMs !== undefined)
    args.push('--drain-timeout', String(Math.max(0, Math.floor(how.drainTimeoutMs))));
  if (how.terminal) args.push('--terminal');
  if (how.mode !== 'exec') {
    // Only the init's shim watches the container's memory cgroup.
    args.push('--oom');
    if (how.noPivotRoot) args.push('--no-pivot');
    if (how.selfDelete) args.push('--self-delete');
  }
  for (const arg of how.runtimeArgs) args.push('--runtime-arg', arg);
  if (how.mode === 'restore') {
    args.push('--checkpoint', how.checkpoint ?? '');
    for (const arg of how.restoreArgs ?? []) args.push('--restore-arg', arg);
  }
  args.push(how.containerId, how.bundle, how.runtime);
  return args;
}
