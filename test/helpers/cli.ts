/**
 * The `berth` CLI as a child process, and a real berthd for it to talk to:
 * each with its own temp folder, stopped (by PID) and checked for leftovers
 * at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { BerthClient, isListening, parseAddress } from '../../src/cli/client.js';
import { tempDir } from '../../support/busybox.js';
import { processesUnder } from '../../support/processes.js';
import { runtimeIds } from './env.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
/** berthd as the api work builds it; BERTH_TEST_BERTHD names another build of it. */
export const BERTHD =
  process.env.BERTH_TEST_BERTHD ?? join(PACKAGE_ROOT, 'dist/src/daemon/berthd.js');

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs a command to its end, stdin given (or closed), output collected. */
export function runProcess(
  file: string,
  args: string[],
  options: RunOptions = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} timed out; stdout ${stdout}; stderr ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** `berth ARGS...` with `env` on top of ours. */
export function berth(args: string[], options: RunOptions = {}): Promise<Result> {
  return runProcess(process.execPath, [CLI, ...args], options);
}

/** A CLI child whose stdin and output the test drives itself. */
export function spawnBerth(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  recorded(child);
  return child;
}

/**
 * `command` under a pseudo-terminal (util-linux script), sized COLSxROWS;
 * `input` is typed once `ready` has shown up in the output.
 */
export async function underTerminal(
  command: string,
  options: {
    input?: string;
    ready?: RegExp;
    /** How long after `ready` the input is typed (default 300 ms). */
    typeAfterMs?: number;
    cols?: number;
    rows?: number;
    timeoutMs?: number;
  } = {},
): Promise<Result> {
  const sized = `stty cols ${options.cols ?? 100} rows ${options.rows ?? 40}; ${command}`;
  const child = spawn('script', ['-qec', sized, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let typed = false;
  const type = () => {
    if (typed) return;
    typed = true;
    // A moment after `ready`: the window size follows the start by an RPC, as in ctr.
    if (options.input !== undefined)
      setTimeout(() => child.stdin.write(options.input!), options.typeAfterMs ?? 300);
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (options.ready?.test(stdout)) type();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {});
  if (!options.ready) type();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`script timed out; output so far: ${JSON.stringify(stdout)}`));
    }, options.timeoutMs ?? 30_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

const seenOutput = new WeakMap<ChildProcess, { text: string; waiters: Set<() => void> }>();

/** Everything a child has written to stdout so far (recorded from the first call on). */
function recorded(child: ChildProcess): { text: string; waiters: Set<() => void> } {
  let record = seenOutput.get(child);
  if (!record) {
    const fresh = { text: '', waiters: new Set<() => void>() };
    record = fresh;
    seenOutput.set(child, fresh);
    child.stdout!.on('data', (chunk: Buffer) => {
      fresh.text += chunk.toString();
      for (const wake of [...fresh.waiters]) wake();
    });
    child.once('close', () => {
      for (const wake of [...fresh.waiters]) wake();
    });
  }
  return record;
}

/** Waits until the child's stdout (all of it, from the start) matches `pattern`; resolves with it. */
export function outputUntil(child: ChildProcess, pattern: RegExp): Promise<string> {
  const record = recorded(child);
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(record.text)) {
        record.waiters.delete(check);
        resolve(record.text);
      } else if (child.exitCode !== null || child.signalCode !== null) {
        record.waiters.delete(check);
        reject(new Error(`ended before ${pattern}: ${JSON.stringify(record.text)}`));
      }
    };
    record.waiters.add(check);
    check();
  });
}

/** The exit of a child. */
export function exited(
  child: ChildProcess,
): Promise<{ status: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ status: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) =>
    child.once('exit', (status, signal) => resolve({ status, signal })),
  );
}

export function berthdAvailable(): boolean {
  return existsSync(BERTHD);
}

export const NO_BERTHD = `berthd is not built (${BERTHD}): it lands with the gRPC work (api-work)`;

export interface Daemon {
  base: string;
  stateDir: string;
  /** unix:///.../s.sock */
  address: string;
  /** Environment for the CLI: BERTH_ADDRESS, and TMPDIR inside base (to see its FIFO folders go). */
  env: NodeJS.ProcessEnv;
  /** `berth ARGS...` against this daemon. */
  berth(args: string[], options?: RunOptions): Promise<Result>;
  /** Kills every container left, stops berthd (by its PID), checks nothing is left, removes base. */
  stop(): Promise<void>;
}

/** Starts berthd with its own state dir and socket; resolves once it accepts connections. */
export async function startBerthd(): Promise<Daemon> {
  const base = tempDir('berth-cli-');
  const stateDir = join(base, 'state');
  const tmp = join(base, 'tmp');
  mkdirSync(tmp);
  const socket = join(base, 's.sock');
  const address = `unix://${socket}`;
  const log = openSync(join(base, 'berthd.log'), 'a');
  const child = spawn(process.execPath, [BERTHD, '--listen', address, '--state-dir', stateDir], {
    cwd: base,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const deadline = Date.now() + 15_000;
  while (!(await isListening(socket, 500))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const text = readFileSync(join(base, 'berthd.log'), 'utf8');
      rmSync(base, { recursive: true, force: true });
      throw new Error(`berthd did not come up: ${text}`);
    }
    await sleep(50);
  }
  const env = { BERTH_ADDRESS: address, TMPDIR: tmp };
  return {
    base,
    stateDir,
    address,
    env,
    berth: (args, options = {}) => berth(args, { ...options, env: { ...env, ...options.env } }),
    async stop() {
      try {
        await killAll(address);
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const gone = await Promise.race([exited(child), sleep(10_000, 'timeout' as const)]);
          if (gone === 'timeout') {
            child.kill('SIGKILL');
            await exited(child);
          }
        }
      }
      try {
        assert.deepEqual(readdirSync(tmp), [], 'FIFO folders left by the CLI');
        assert.deepEqual(runtimeIds(stateDir), [], 'runtime state left behind');
        assert.deepEqual(processesUnder(base), [], 'processes left running');
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
}

/** SIGKILLs every container berthd has and waits for their exits. */
async function killAll(address: string): Promise<void> {
  const client = new BerthClient(parseAddress(address));
  try {
    const { containers } = await client.state();
    if (!containers.length) return;
    const stream = client.events({});
    const left = new Set(containers.map((c) => c.id));
    for (const c of containers) await client.signal(c.id, 'init', 9).catch(() => left.delete(c.id));
    const timer = setTimeout(() => stream.cancel(), 15_000);
    for await (const event of stream) {
      if (event.type === 'exit' && event.pid === 'init') left.delete(event.id);
      if (!left.size) break;
    }
    clearTimeout(timer);
    stream.cancel();
  } finally {
    client.close();
  }
}
