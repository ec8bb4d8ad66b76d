/**
 * Starting a berthd of our own for a benchmark, and talking to it: a
 * promise-returning view of the generated client. Not a test helper: bench/
 * stands on its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { APIClient, type Event, type EventsRequest } from '../src/api/generated/berth.js';

export const berthdPath = fileURLToPath(new URL('../src/daemon/berthd.js', import.meta.url));

export interface Daemon {
  process: ChildProcess;
  address: string;
  client: APIClient;
  call<T>(method: string, request: object): Promise<T>;
  events(request: EventsRequest, onEvent: (event: Event) => void): () => void;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startDaemon(stateDir: string, socket: string): Promise<Daemon> {
  const address = `unix://${socket}`;
  // The executable itself, so that the node flags of its #! line apply.
  const child = spawn(berthdPath, ['--state-dir', stateDir, '--listen', address], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // Retry fast while the daemon starts: the default reconnect backoff (1 s) would be timed too.
  const client = new APIClient(address, credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 10,
    'grpc.max_reconnect_backoff_ms': 50,
  });
  const call = <T>(method: string, request: object): Promise<T> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method]!;
      fn.call(client, request, (err: ServiceError | null, response: T) =>
        err ? reject(err) : resolve(response),
      );
    });
  const daemon: Daemon = {
    process: child,
    address,
    client,
    call,
    events(request, onEvent) {
      const stream = client.events(request);
      stream.on('data', onEvent);
      stream.on('error', () => {});
      return () => stream.cancel();
    },
    async stop(signal = 'SIGTERM') {
      client.close();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
  for (let i = 0; i < 500; i++) {
    try {
      await call('getServerVersion', {});
      return daemon;
    } catch {
      if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}`);
      await sleep(10);
    }
  }
  throw new Error('berthd did not answer within 5 s');
}
