/** Starting a real berthd for a test: the one place that spawns it and waits until it serves. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const berthdPath = fileURLToPath(new URL('../../src/daemon/berthd.js', import.meta.url));

export interface BerthdProcess {
  child: ChildProcess;
  pid: number;
  address: string;
  /** What it logged (the tail, for long runs). */
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns berthd on `stateDir` listening at `socket`, with more `flags`, and
 * resolves once it serves. `onSpawn` sees it before the wait (to register it
 * for cleanup). Rejects with its log if it exits first or takes 20 s (then
 * it is killed).
 */
export async function spawnBerthd(
  stateDir: string,
  socket: string,
  flags: string[],
  onSpawn: (daemon: BerthdProcess) => void = () => {},
): Promise<BerthdProcess> {
  const address = `unix://${socket}`;
  const child = spawn(berthdPath, ['--state-dir', stateDir, '--listen', address, ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let serving = false;
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (!serving && stderr.includes('"msg":"berthd serving"')) serving = true;
    // Keep the tail only: long runs log a lot.
    if (stderr.length > 1_000_000) stderr = stderr.slice(-200_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const daemon: BerthdProcess = { child, pid: child.pid!, address, log: () => stderr, exited };
  onSpawn(daemon);
  const deadline = Date.now() + 20_000;
  while (!serving) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`berthd did not start (exited): ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`berthd did not start (timeout): ${stderr}`);
    }
    await sleep(20);
  }
  return daemon;
}

/** True while the PID exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
