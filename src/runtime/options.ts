/** What the Container API takes: options, results, defaults, and their checks. */
import type { Container } from './container.js';
import { InvalidArgumentError } from './errors.js';
import type { StdioOptions } from './stdio.js';

/** The seed's ContainerOpts (docs/SEED.md); `timeout` is the start timeout in milliseconds. */
export interface ContainerOpts {
  root: string;
  id: string;
  bundle: string;
  runtime?: string;
  /**
   * Global runtime arguments, before every subcommand. Without a `--root`
   * among them berth adds `--root <root>/.runtime/<runtime>`, so that two
   * state roots never share the runtime's state.
   */
  runtimeArgs?: string[];
  shim?: string;
  labels?: string[];
  noPivotRoot?: boolean;
  timeout?: number;
}

export interface LoadOptions {
  /** Overrides the shim recorded in state.json (the seed's shimName). */
  shim?: string;
  timeout?: number;
}

/** A container folder that `loadAll` could not pick up, and why. */
export interface LoadFailure {
  id: string;
  error: Error;
}

export interface LoadAllResult {
  containers: Container[];
  /** Broken containers (a torn state.json, say); the healthy ones are loaded regardless. */
  errors: LoadFailure[];
}

/** How a process's stdio is handled, at start and at exit. */
export interface StdioHandling {
  stdio?: StdioOptions;
  /**
   * Milliseconds, default 30 000: once the process has exited, how long its
   * output waits for a reader that has stopped reading. Past that the rest is
   * discarded and `process.lostOutput` names the stream. A reader that reads,
   * however slowly, loses nothing.
   */
  drainTimeout?: number;
}

export interface StartOptions extends StdioHandling {
  /** Restore from this checkpoint (a name under `checkpointDir`) instead of creating afresh. */
  checkpoint?: string;
  checkpointDir?: string;
  signal?: AbortSignal;
}

export type RunOptions = Omit<StartOptions, 'checkpoint' | 'checkpointDir'>;

export interface ExecOptions extends StdioHandling {
  signal?: AbortSignal;
}

/** What every call that waits on the runtime accepts. */
export interface CallOptions {
  signal?: AbortSignal;
}

export const DEFAULT_RUNTIME = 'runc';
export const DEFAULT_START_TIMEOUT_MS = 15_000;

export function checkStrings(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new InvalidArgumentError(`${name} must be an array of strings`);
  }
  return [...value];
}

export function checkTimeout(timeout: number | undefined): number {
  if (timeout === undefined || timeout === 0) return DEFAULT_START_TIMEOUT_MS;
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new InvalidArgumentError(
      `timeout must be a positive number of milliseconds, got ${timeout}`,
    );
  }
  return timeout;
}

export function checkDrainTimeout(ms: number | undefined): number | undefined {
  if (ms === undefined) return undefined;
  if (!Number.isFinite(ms) || ms < 0 || ms > 86_400_000)
    throw new InvalidArgumentError(`drainTimeout must be 0 to 86400000 ms, got ${ms}`);
  return ms;
}
