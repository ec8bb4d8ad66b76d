/**
 * Where shims are started. A fork of a large Node process copies its page
 * tables: milliseconds each, on the event loop, so a hundred concurrent
 * starts would stall a supervisor for a second or more. Instead one small
 * resident helper (`berth-shim --spawner`, shim/src/spawner.c) forks them;
 * the library sends it requests and reads replies. A shim binary without a
 * spawner mode (a foreign one) is started directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

class Spawner {
  readonly #child: ChildProcess;
  readonly #pending = new Map<
    number,
    { request: ShimStartRequest; on: ShimStartEvents; spawned: boolean }
  >();
  #nextId = 0;
  #received = '';
  #dead = false;
  #answered = false;
  #retired = false;

  constructor(
    binary: string,
    private readonly onDeath: (spawner: Spawner, usable: boolean) => void,
  ) {
    this.#child = spawn(binary, ['--spawner'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const stdout = this.#child.stdout as Readable;
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => this.#consume(chunk));
    this.#child.on('error', () => this.#die());
    this.#child.on('exit', () => this.#die());
    (this.#child.stdin as Writable).on('error', () => this.#die());
    this.#idle();
  }

  start(request: ShimStartRequest, on: ShimStartEvents): void {
    const id = ++this.#nextId;
    this.#pending.set(id, { request, on, spawned: false });
    if (this.#pending.size === 1) this.#busy();
    // The executable is also its own argv[0].
    const fields = [String(id), request.cwd, request.shim, ...request.args];
    (this.#child.stdin as Writable).write(`${fields.join('\0')}\0\0`);
  }

  #consume(chunk: string): void {
    this.#received += chunk;
    let newline: number;
    while ((newline = this.#received.indexOf('\n')) >= 0) {
      const line = this.#received.slice(0, newline);
      this.#received = this.#received.slice(newline + 1);
      this.#answered = true;
      const match = /^(\d+) (spawned|ready|gone|error)(?: (.*))?$/.exec(line);
      const entry = match ? this.#pending.get(Number(match[1])) : undefined;
      if (!match || !entry) continue;
      const [, id, event, rest = ''] = match;
      if (event === 'spawned') {
        entry.spawned = true;
        entry.on.spawned(Number(rest));
        continue;
      }
      this.#pending.delete(Number(id));
      if (this.#pending.size === 0) this.#idle();
      if (event === 'ready') entry.on.line(rest);
      else if (event === 'gone') entry.on.gone();
      else entry.on.error(rest);
    }
  }

  /**
   * Starts not begun yet go to direct spawning; one whose shim already runs is
   * reported gone (nobody can read its report now: the caller kills it).
   */
  #die(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.onDeath(this, this.#answered);
    for (const { request, on, spawned } of this.#pending.values()) {
      if (spawned) on.gone();
      else startDirectly(request, on);
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

/** Starts in flight: one alone is started directly, which is quickest for it. */
let inFlight = 0;

/**
 * Starts a shim: directly when it is the only start in flight (one hop less,
 * the quickest for a lone container), else through its binary's spawner, so
 * that concurrent starts do not each fork this process. Call the returned
 * function once the start has settled.
 */
export function startShimProcess(request: ShimStartRequest, on: ShimStartEvents): () => void {
  const alone = inFlight++ === 0;
  let released = false;
  const release = () => {
    if (!released) inFlight--;
    released = true;
  };
  if (alone || withoutSpawner.has(request.shim)) startDirectly(request, on);
  else startThroughSpawner(request, on);
  return release;
}

function startThroughSpawner(request: ShimStartRequest, on: ShimStartEvents): void {
  const env = environmentKey();
  let current = spawners.get(request.shim);
  if (current && current.env !== env) {
    current.spawner.retire();
    current = undefined;
  }
  if (!current) {
    const spawner = new Spawner(request.shim, (dead, usable) => {
      if (spawners.get(request.shim)?.spawner === dead) spawners.delete(request.shim);
      if (!usable) withoutSpawner.add(request.shim);
    });
    current = { spawner, env };
    spawners.set(request.shim, current);
  }
  current.spawner.start(request, on);
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
