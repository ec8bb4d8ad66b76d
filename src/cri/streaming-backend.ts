/**
 * The streaming server's backend over the supervisor: exec runs a process
 * in a running CRI container (exec-process.ts: FIFOs, terminal sizes through
 * updateProcess, the exit from the supervisor's events); port-forward
 * connects to 127.0.0.1:<port> in the pod's network namespace, by
 * `nsenter --net=<netns file> socat - TCP4:127.0.0.1:<port>` (Node cannot
 * enter a namespace itself), or directly for a host-network pod; attach is
 * the CRI containers' own (given by whoever keeps their output).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvalidArgumentError } from '../runtime/index.js';
import type { SupervisorApi } from '../supervisor/types.js';
import type { CriContainerLookup } from './container-lookup.js';
import { AttachUnavailableError, PortForwardError } from './exec-errors.js';
import { checkCommand, runningContainer } from './exec-sync.js';
import { runExecProcess } from './exec-process.js';
import { PodSandboxNotFoundError } from './pod-errors.js';
import type { PodRecord } from './sandbox-store.js';
import type { SessionStreams, StreamingBackend } from './streaming/types.js';

/** Joins a CRI container's main process' streams (CriContainers.attach). */
export type AttachFunction = (containerId: string, streams: SessionStreams) => Promise<void>;

/** What port-forward needs of the pod sandboxes (PodSandboxes has it). */
export interface PodSandboxRecords {
  /** A full id from an id or unique prefix; PodSandboxNotFoundError when none. */
  resolve(idOrPrefix: string): Promise<string>;
  store: { load(id: string): Promise<PodRecord | undefined> };
}

export interface SupervisorStreamingBackendOptions {
  supervisor: SupervisorApi;
  lookup: CriContainerLookup;
  /** Where exec FIFO folders are made. */
  fifoRoot: string;
  /** Without it, port-forward answers that the pod is not found. */
  pods?: PodSandboxRecords;
  /** Without it, attach is refused with AttachUnavailableError. */
  attach?: AttachFunction;
  /** Programs run for a port-forward (default: found on PATH). */
  nsenter?: string;
  socat?: string;
}

/**
 * How long socat keeps the other direction open once one side has ended:
 * the pod's server may answer long after the client's half-close, and the
 * connection ends anyway when both sides have (containerd waits without limit).
 */
const SOCAT_HALF_CLOSE_SECONDS = '86400';
/** Most bytes of socat's complaints kept for an error message. */
const MAX_ERROR_TEXT = 4096;

export class SupervisorStreamingBackend implements StreamingBackend {
  readonly #options: SupervisorStreamingBackendOptions;

  constructor(options: SupervisorStreamingBackendOptions) {
    this.#options = options;
  }

  async exec(containerId: string, cmd: string[], streams: SessionStreams): Promise<number> {
    checkCommand(cmd);
    const view = await runningContainer(this.#options.lookup, containerId);
    const env = streams.tty ? await this.#terminalEnv(view.id) : undefined;
    const result = await runExecProcess({
      supervisor: this.#options.supervisor,
      fifoRoot: this.#options.fifoRoot,
      containerId: view.id,
      cmd,
      tty: streams.tty,
      ...(env ? { env } : {}),
      stdin: streams.stdin,
      stdout: streams.stdout,
      stderr: streams.stderr,
      resize: streams.resize,
      signal: streams.signal,
    });
    return result.exitCode;
  }

  async attach(containerId: string, streams: SessionStreams): Promise<void> {
    const attach = this.#options.attach;
    if (!attach) throw new AttachUnavailableError('attach is not available on this runtime');
    await attach(containerId, streams);
  }

  async portForward(
    podSandboxId: string,
    port: number,
    stream: Duplex,
    signal: AbortSignal,
  ): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new InvalidArgumentError(`port must be 1 to 65535, got ${port}`);
    const pods = this.#options.pods;
    if (!pods) throw new PodSandboxNotFoundError(`pod sandbox ${podSandboxId} not found`);
    const id = await pods.resolve(podSandboxId);
    const record = await pods.store.load(id);
    if (!record) throw new PodSandboxNotFoundError(`pod sandbox ${podSandboxId} not found`);
    if (record.state !== 'READY')
      throw new PortForwardError(`pod sandbox ${id} is not ready: cannot forward to it`);
    if (record.namespaces.network === 'node') return forwardDirect(port, stream, signal);
    const netns = record.network?.netns;
    if (!netns) throw new PortForwardError(`pod sandbox ${id} has no network namespace`);
    return this.#forwardInNetns(netns, port, stream, signal);
  }

  /** The container's environment and TERM=xterm, as containerd gives a terminal exec. */
  async #terminalEnv(containerId: string): Promise<string[] | undefined> {
    const { containers } = await this.#options.supervisor.state(containerId);
    const init = containers[0]?.processes.find((p) => p.pid === 'init');
    if (!init) return undefined;
    const env = init.env.filter((entry) => !entry.startsWith('TERM='));
    return [...env, 'TERM=xterm'];
  }

  #forwardInNetns(netns: string, port: number, stream: Duplex, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const child = spawn(
      this.#options.nsenter ?? 'nsenter',
      [
        `--net=${netns}`,
        '--',
        this.#options.socat ?? 'socat',
        '-t',
        SOCAT_HALF_CLOSE_SECONDS,
        '-',
        `TCP4:127.0.0.1:${port}`,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const stop = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    let errorText = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (errorText.length < MAX_ERROR_TEXT) errorText += chunk.toString();
    });
    child.stdin.on('error', () => {});
    stream.on('error', () => {});
    stream.pipe(child.stdin);
    child.stdout.pipe(stream);
    // The client gone altogether (not just done sending): nobody reads any more.
    stream.once('close', stop);
    signal.addEventListener('abort', stop, { once: true });
    return new Promise<void>((resolve, reject) => {
      child.once('error', (err) => {
        signal.removeEventListener('abort', stop);
        reject(new PortForwardError(`cannot run socat in the pod's network: ${err.message}`));
      });
      child.once('close', (code, killedBy) => {
        signal.removeEventListener('abort', stop);
        stream.off('close', stop);
        stream.unpipe(child.stdin);
        // Killed: by us, the client or the caller having gone; nobody waits for an error.
        if (code === 0 || killedBy !== null) return resolve();
        const words = errorText.trim().split('\n').pop() ?? '';
        reject(
          new PortForwardError(
            `port-forward to 127.0.0.1:${port} in the pod's network failed${words ? `: ${words}` : ` (exit ${code})`}`,
          ),
        );
      });
    });
  }
}

/** A host-network pod's port is the host's own: a plain connection. */
function forwardDirect(port: number, stream: Duplex, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let connected = false;
    const stop = () => socket.destroy();
    signal.addEventListener('abort', stop, { once: true });
    stream.once('close', stop);
    stream.on('error', () => {});
    socket.once('connect', () => {
      connected = true;
      stream.pipe(socket);
      socket.pipe(stream);
    });
    socket.once('error', (err) => {
      if (!connected)
        reject(new PortForwardError(`port-forward to 127.0.0.1:${port} failed: ${err.message}`));
    });
    socket.once('close', () => {
      signal.removeEventListener('abort', stop);
      stream.off('close', stop);
      resolve();
    });
  });
}
