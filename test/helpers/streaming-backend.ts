/**
 * A streaming backend on the runtime library, for tests: exec runs a
 * process in a real container with pipes, attach joins a container's init
 * process started with pipes, and port-forward runs busybox `nc` inside the
 * pod's container, so the bytes really cross its network namespace.
 */
import { finished } from 'node:stream/promises';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Container, ContainerProcess } from '../../src/index.js';
import type { SessionStreams, StreamingBackend } from '../../src/cri/streaming/types.js';
import { uniqueId } from './env.js';

/** The test bundles' own environment (support/busybox.ts). */
const EXEC_ENV = ['PATH=/bin', 'TERM=xterm'];

export interface Attachable {
  container: Container;
  /** The init process, started with stdio pipes. */
  init: ContainerProcess<Container>;
}

/** Copies `from` into `to` without ending `to`; resolves once `from` has ended. */
async function copy(from: Readable | null, to: Writable | null): Promise<void> {
  if (!from) return;
  if (!to) {
    from.resume();
    await finished(from).catch(() => {});
    return;
  }
  from.pipe(to, { end: false });
  await finished(from).catch(() => {});
}

async function followResizes(
  streams: SessionStreams,
  process: ContainerProcess<Container>,
): Promise<void> {
  if (!streams.resize) return;
  for await (const size of streams.resize) {
    await process.resize(size.width, size.height).catch(() => {});
  }
}

export class RuntimeStreamingBackend implements StreamingBackend {
  readonly containers = new Map<string, Container>();
  readonly attachable = new Map<string, Attachable>();
  /** Exec processes started, for the tests to check they are gone. */
  readonly started: ContainerProcess<Container>[] = [];

  #container(id: string): Container {
    const container = this.containers.get(id) ?? this.attachable.get(id)?.container;
    if (!container) throw new Error(`container ${id} not found`);
    return container;
  }

  async exec(containerId: string, cmd: string[], streams: SessionStreams): Promise<number> {
    const process = await this.#container(containerId).exec(
      uniqueId('exec'),
      // An exec's environment is its own (the kubelet passes the container's): no PATH is inherited.
      { args: cmd, env: EXEC_ENV, terminal: streams.tty },
      {
        stdio: {
          stdin: streams.stdin ? 'pipe' : undefined,
          stdout: streams.stdout ? 'pipe' : undefined,
          stderr: streams.stderr ? 'pipe' : undefined,
        },
      },
    );
    this.started.push(process);
    const kill = () => void process.signal('SIGKILL').catch(() => {});
    streams.signal.addEventListener('abort', kill, { once: true });
    try {
      if (streams.stdin && process.stdin) {
        const stdin = process.stdin;
        stdin.on('error', () => {});
        streams.stdin.pipe(stdin);
      }
      void followResizes(streams, process);
      const outputs = Promise.all([
        copy(process.stdout, streams.stdout),
        copy(process.stderr, streams.stderr),
      ]);
      const status = await process.wait();
      await outputs;
      return status;
    } finally {
      streams.signal.removeEventListener('abort', kill);
    }
  }

  async attach(containerId: string, streams: SessionStreams): Promise<void> {
    const target = this.attachable.get(containerId);
    if (!target) throw new Error(`container ${containerId} cannot be attached to`);
    const { init } = target;
    if (streams.stdin && init.stdin) streams.stdin.pipe(init.stdin, { end: false });
    void followResizes(streams, init);
    const aborted = new Promise<void>((resolve) =>
      streams.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await Promise.race([
      Promise.all([copy(init.stdout, streams.stdout), copy(init.stderr, streams.stderr)]),
      aborted,
    ]);
    streams.stdin?.unpipe();
    init.stdout?.unpipe();
    init.stderr?.unpipe();
  }

  async portForward(
    podSandboxId: string,
    port: number,
    stream: Duplex,
    signal: AbortSignal,
  ): Promise<void> {
    const nc = await this.#container(podSandboxId).exec(
      uniqueId('forward'),
      // `busybox nc`, not `nc`: where runc itself runs in a chroot (the fresh-machine CI
      // simulation), `runc exec` lands at the mount namespace's root, the host's, which has
      // busybox (setup installs it) but no `nc`.
      { args: ['busybox', 'nc', '127.0.0.1', String(port)], env: EXEC_ENV },
      { stdio: { stdin: 'pipe', stdout: 'pipe' } },
    );
    this.started.push(nc);
    let stopping = false;
    const kill = () => {
      stopping = true;
      void nc.signal('SIGKILL').catch(() => {});
    };
    signal.addEventListener('abort', kill, { once: true });
    // The client closing its side ends the connection (busybox nc does not half-close).
    stream.once('end', kill);
    try {
      nc.stdin!.on('error', () => {});
      stream.pipe(nc.stdin!);
      const output = copy(nc.stdout, stream);
      const status = await nc.wait();
      await output;
      if (status !== 0 && !stopping) {
        throw new Error(`connection to 127.0.0.1:${port} failed (nc exited ${status})`);
      }
    } finally {
      signal.removeEventListener('abort', kill);
    }
  }
}
