/**
 * Where shims are started. A fork of a large Node process copies its page
 * tables: milliseconds each, on the event loop, so a hundred concurrent
 * starts would stall a supervisor for a second or more. Instead one small
 * resident helper (`berth-shim --spawner`, shim/src/spawner.c) forks them;
 * the library sends it requests and reads replies. A shim binary without a
 * spawner mode (a foreign one) is started directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';

export const READY_FD = 3;

export interface ShimStartRequest {
  shim: string;
  args: string[];
  cwd: string;
}

export interface ShimStartEvents {
  /** It runs as `pid`, leading its own session (its process group holds the runtime). */
  spawned(pid: number): void;
  /** Its readiness line, without the newline. */
  line(text: string): void;
  /** Its ready pipe closed without a line: it died. */
  gone(): void;
  /** It could not be started at all. */
  error(message: string): void;
}

/** A one-shot command (the OCI runtime) run by the spawner. */
export interface RunRequest {
  executable: string;
  args: readonly string[];
  cwd: string;
  /** Bytes for its stdin; none: /dev/null. */
  input?: string;
}

export interface RunEvents {
  exited(result: RunResult): void;
  /** It could not be started (errno as Node names it, e.g. ENOENT). */
  error(code: string, message: string): void;
  /** The spawner died first: `spawned` says whether the command had started. */
  lost(spawned: boolean): void;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

type Pending =
  | { kind: 'shim'; request: ShimStartRequest; on: ShimStartEvents; spawned: boolean }
  | { kind: 'run'; on: RunEvents; spawned: boolean };

const EXITED = /^(\d+) exited (-?\d+) (\d+) (\d+) (\d+)$/;
const REPLY = /^(\d+) (spawned|ready|gone|error)(?: (.*))?$/;
/** The spawner's request buffer is 64 kB; leave room for the other fields. */
const RUN_REQUEST_MAX = 60_000;

class Spawner {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #received: Buffer = Buffer.alloc(0);
  #dead = false;
  #answered = false;
  #retired = false;

  constructor(
    binary: string,
    private readonly onDeath: (spawner: Spawner, usable: boolean) => void,
  ) {
    this.#child = spawn(binary, ['--spawner'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const stdout = this.#child.stdout as Readable;
    stdout.on('data', (chunk: Buffer) => this.#consume(chunk));
    this.#child.on('error', () => this.#die());
    this.#child.on('exit', () => this.#die());
    (this.#child.stdin as Writable).on('error', () => this.#die());
    this.#idle();
  }

  get dead(): boolean {
    return this.#dead;
  }

  start(request: ShimStartRequest, on: ShimStartEvents): void {
    // The executable is also its own argv[0].
    this.#send({ kind: 'shim', request, on, spawned: false }, (id) => [
      String(id),
      request.cwd,
      request.shim,
      ...request.args,
    ]);
  }

  /** Returns the function that kills the run (once it has started, until it is reaped). */
  run(request: RunRequest, on: RunEvents): () => void {
    const id = this.#send({ kind: 'run', on, spawned: false }, (id) => [
      'run',
      String(id),
      request.cwd,
      request.input === undefined ? '-' : `=${request.input}`,
      request.executable,
      ...request.args,
    ]);
    return () => {
      if (!this.#dead && this.#pending.has(id))
        (this.#child.stdin as Writable).write(`kill\0${id}\0\0`);
    };
  }

  #send(entry: Pending, fields: (id: number) => string[]): number {
    const id = ++this.#nextId;
    this.#pending.set(id, entry);
    if (this.#pending.size === 1) this.#busy();
    (this.#child.stdin as Writable).write(`${fields(id).join('\0')}\0\0`);
    return id;
  }

  #consume(chunk: Buffer): void {
    this.#received = this.#received.length ? Buffer.concat([this.#received, chunk]) : chunk;
    let newline: number;
    while ((newline = this.#received.indexOf(10)) >= 0) {
      const line = this.#received.toString('utf8', 0, newline);
      const exited = EXITED.exec(line);
      let rest = newline + 1;
      if (exited) {
        const outLength = Number(exited[4]);
        const errLength = Number(exited[5]);
        // The run's output follows its line: wait for all of it.
        if (this.#received.length < rest + outLength + errLength) return;
        const stdout = this.#received.toString('utf8', rest, rest + outLength);
        const stderr = this.#received.toString(
          'utf8',
          rest + outLength,
          rest + outLength + errLength,
        );
        rest += outLength + errLength;
        this.#received = this.#received.subarray(rest);
        const entry = this.#settle(Number(exited[1]));
        if (entry?.kind !== 'run') continue;
        const code = Number(exited[2]);
        const signal = Number(exited[3]);
        entry.on.exited({
          code: code < 0 ? null : code,
          signal: signal ? signalName(signal) : null,
          stdout,
          stderr,
        });
        continue;
      }
      this.#received = this.#received.subarray(rest);
      this.#answered = true;
      const match = REPLY.exec(line);
      const entry = match ? this.#pending.get(Number(match[1])) : undefined;
      if (!match || !entry) continue;
      const [, id, event, detail = ''] = match;
      if (event === 'spawned') {
        entry.spawned = true;
        if (entry.kind === 'shim') entry.on.spawned(Number(detail));
        continue;
      }
      this.#settle(Number(id));
      if (entry.kind === 'run') {
        if (event === 'error') {
          const [errno = '', ...words] = detail.split(' ');
          entry.on.error(errnoName(Number(errno)), words.join(' '));
        }
        continue;
      }
      if (event === 'ready') entry.on.line(detail);
      else if (event === 'gone') entry.on.gone();
      else entry.on.error(detail);
    }
  }

  #settle(id: number): Pending | undefined {
    this.#answered = true;
    const entry = this.#pending.get(id);
    this.#pending.delete(id);
    if (entry && this.#pending.size === 0) this.#idle();
    return entry;
  }

  /**
   * Starts not begun yet go to direct spawning; one whose shim already runs is
   * reported gone (nobody can read its report now: the caller kills it). Runs
   * are reported lost, for their callers to decide.
   */
  #die(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.onDeath(this, this.#answered);
    for (const entry of this.#pending.values()) {
      if (entry.kind === 'run') entry.on.lost(entry.spawned);
      else if (entry.spawned) entry.on.gone();
      else startDirectly(entry.request, entry.on);
    }
    this.#pending.clear();
  }

  /** No new starts: it exits once those in flight have been answered. */
  retire(): void {
    this.#retired = true;
    if (this.#pending.size === 0) (this.#child.stdin as Writable).end();
  }

  // The helper keeps Node running only while a start waits on it.
  #idle(): void {
    if (this.#retired) (this.#child.stdin as Writable).end();
    this.#child.unref();
    (this.#child.stdout as Readable & { unref?: () => void }).unref?.();
    (this.#child.stdin as Writable & { unref?: () => void }).unref?.();
  }

  #busy(): void {
    this.#child.ref();
    (this.#child.stdout as Readable & { ref?: () => void }).ref?.();
    (this.#child.stdin as Writable & { ref?: () => void }).ref?.();
  }
}

function signalName(signal: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, number]) => number === signal);
  return (entry?.[0] as NodeJS.Signals | undefined) ?? null;
}

function errnoName(errno: number): string {
  return Object.entries(constants.errno).find(([, number]) => number === errno)?.[0] ?? 'EIO';
}

/** The current spawner of each shim binary, and the environment it was started with. */
const spawners = new Map<string, { spawner: Spawner; env: string }>();
/** Shim binaries that have no spawner mode. */
const withoutSpawner = new Set<string>();

/** The shim, the runtime and the container inherit this environment: a change needs a new spawner. */
function environmentKey(): string {
  return Object.entries(process.env)
    .map(([name, value]) => `${name}=${value}`)
    .join('\0');
}

/**
 * Shim starts and runtime calls in flight: one alone is forked directly,
 * which is quickest for it; those alongside others go through the spawner.
 */
let inFlight = 0;

/** Counts one more in flight; call the returned function once it has settled. */
export function countInFlight(): () => void {
  inFlight++;
  let released = false;
  return () => {
    if (!released) inFlight--;
    released = true;
  };
}

/**
 * Starts a shim: directly when it is the only start in flight (one hop less,
 * the quickest for a lone container), else through its binary's spawner, so
 * that concurrent starts do not each fork this process. Call the returned
 * function once the start has settled.
 */
export function startShimProcess(request: ShimStartRequest, on: ShimStartEvents): () => void {
  const alone = inFlight === 0;
  const release = countInFlight();
  if (alone || withoutSpawner.has(request.shim)) startDirectly(request, on);
  else startThroughSpawner(request, on);
  return release;
}

function startThroughSpawner(request: ShimStartRequest, on: ShimStartEvents): void {
  spawnerOf(request.shim).start(request, on);
}

/** The live spawner of `shim` for this environment, started if need be. */
function spawnerOf(shim: string): Spawner {
  const env = environmentKey();
  let current = spawners.get(shim);
  if (current && current.env !== env) {
    current.spawner.retire();
    current = undefined;
  }
  if (!current) {
    const spawner = new Spawner(shim, (dead, usable) => {
      if (spawners.get(shim)?.spawner === dead) spawners.delete(shim);
      if (!usable) withoutSpawner.add(shim);
    });
    current = { spawner, env };
    spawners.set(shim, current);
  }
  return current.spawner;
}

/**
 * Whether a one-shot command should go through the spawner of `shim` rather
 * than a fork of this process: a spawner is already up, or something else is
 * in flight; and the spawner can carry the request (no empty argument, no NUL,
 * not too long). Otherwise the caller forks it, counted with countInFlight.
 */
export function spawnerTakes(shim: string, request: RunRequest): boolean {
  if (withoutSpawner.has(shim)) return false;
  if (!spawners.has(shim) && inFlight === 0) return false;
  const fields = [request.cwd, request.executable, ...request.args, request.input ?? ''];
  // Empty fields end a request; NUL cannot be carried at all.
  if (request.args.some((arg) => arg === '') || fields.some((f) => f.includes('\0'))) return false;
  return Buffer.byteLength(fields.join('')) <= RUN_REQUEST_MAX;
}

/** Runs a command spawnerTakes accepted; returns the function that kills it. */
export function runThroughSpawner(shim: string, request: RunRequest, on: RunEvents): () => void {
  const release = countInFlight();
  return spawnerOf(shim).run(request, {
    exited: (result) => (release(), on.exited(result)),
    error: (code, message) => (release(), on.error(code, message)),
    lost: (spawned) => (release(), on.lost(spawned)),
  });
}

/** The fallback: a fork of this process. */
export function startDirectly(request: ShimStartRequest, on: ShimStartEvents): void {
  const child = spawn(request.shim, request.args, {
    cwd: request.cwd,
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  let reported = false;
  child.on('error', (err) => {
    if (reported) return;
    reported = true;
    on.error(err.message);
  });
  // Node reaps it; it must not keep Node alive.
  child.unref();
  if (child.pid === undefined) return;
  on.spawned(child.pid);
  const ready = child.stdio[READY_FD] as Readable;
  let received = '';
  ready.setEncoding('utf8');
  ready.on('data', (chunk: string) => {
    received += chunk;
    const newline = received.indexOf('\n');
    if (newline < 0 || reported) return;
    reported = true;
    ready.destroy();
    on.line(received.slice(0, newline));
  });
  const closed = () => {
    if (reported) return;
    reported = true;
    on.gone();
  };
  ready.on('close', closed);
  ready.on('error', closed);
}
