/**
 * The image store as the CLI uses it: which store (`--store DIR`, else
 * $BERTH_STORE, else /var/lib/berth), a pull with one progress bar per layer
 * on a terminal, and the image a `run` needs (pulled first when absent, as
 * docker run does).
 */
import { MultiBar, Presets } from 'cli-progress';
import {
  DEFAULT_STORE_ROOT,
  ImageNotFoundError,
  ImageStore,
  type Image,
  type PullProgress,
} from '../images/index.js';
import { UsageError } from './errors.js';
import { interruptible } from './progress.js';

export const STORE_ENV = 'BERTH_STORE';

/** `--store`, as the images commands and `run` take it. */
export interface StoreOptions {
  store?: string | undefined;
}

export function storeRoot(opts: StoreOptions): string {
  const given = opts.store;
  if (given !== undefined && given !== '') return given;
  return process.env[STORE_ENV] || DEFAULT_STORE_ROOT;
}

export function openStore(opts: StoreOptions): Promise<ImageStore> {
  return ImageStore.open({ root: storeRoot(opts) });
}

/** The 12 hex digits docker shows of a digest. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** One bar per blob (manifest and config are quick; layers are what take time). */
function progressBars(stream: NodeJS.WriteStream): {
  onProgress: (p: PullProgress) => void;
  stop: () => void;
} {
  const bars = new MultiBar(
    {
      stream,
      format: '{id} [{bar}] {state} {have}/{size}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
      fps: 10,
    },
    Presets.shades_classic,
  );
  const byDigest = new Map<string, ReturnType<MultiBar['create']>>();
  return {
    onProgress(p) {
      if (p.kind !== 'layer') return;
      const payload = {
        id: shortId(p.digest),
        state: p.state.padEnd(11),
        have: formatBytes(p.current),
        size: formatBytes(p.total),
      };
      const total = Math.max(1, p.total);
      const bar = byDigest.get(p.digest);
      if (!bar) byDigest.set(p.digest, bars.create(total, p.current, payload));
      else {
        bar.setTotal(total);
        bar.update(p.current, payload);
      }
    },
    stop: () => bars.stop(),
  };
}

/** Pulls `ref`, drawing per-layer bars on stderr when it is a terminal and the output is not JSON. */
export async function pullWithProgress(
  store: ImageStore,
  ref: string,
  options: { json: boolean; insecureRegistries?: string[] },
): Promise<Image> {
  const stderr = process.stderr;
  const bars = stderr.isTTY && !options.json ? progressBars(stderr) : undefined;
  const interrupt = interruptible();
  try {
    return await store.pull(ref, {
      signal: interrupt.signal,
      ...(bars ? { onProgress: bars.onProgress } : {}),
      ...(options.insecureRegistries?.length
        ? { insecureRegistries: options.insecureRegistries }
        : {}),
    });
  } finally {
    bars?.stop();
    interrupt.release();
  }
}

export type PullPolicy = 'missing' | 'always' | 'never';

export function pullPolicy(value: unknown): PullPolicy {
  if (value === undefined) return 'missing';
  if (value === 'missing' || value === 'always' || value === 'never') return value;
  throw new UsageError(`--pull takes missing, always or never, not ${String(value)}`);
}

/** The image to run: from the store, pulled when absent (or always, or never, by policy). */
export async function imageForRun(
  store: ImageStore,
  ref: string,
  options: { policy: PullPolicy; json: boolean; insecureRegistries?: string[] },
): Promise<Image> {
  if (options.policy !== 'always') {
    try {
      return await store.get(ref);
    } catch (err) {
      if (!(err instanceof ImageNotFoundError) || options.policy === 'never') throw err;
    }
    if (!options.json) process.stderr.write(`berth: image ${ref} not in the store: pulling it\n`);
  }
  return pullWithProgress(store, ref, options);
}
