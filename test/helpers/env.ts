/** Per-test state roots, unique ids, and the checks that a test left nothing behind. */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { Container, type ContainerOpts } from '../../src/index.js';
import { tempDir, writeBundle, type BundleOptions } from '../../support/busybox.js';
import { processesUnder } from '../../support/processes.js';

export { processesUnder };

let counter = 0;
/** Ids unique across concurrent test files and runs. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

export interface Sandbox {
  /** A temp folder holding `root/` (the state root) and bundles. */
  base: string;
  root: string;
  bundle(opts?: BundleOptions): string;
  create(opts?: BundleOptions, extra?: Partial<ContainerOpts>): Promise<Container>;
  /** Force-deletes every container created here, then checks nothing is left behind. */
  cleanup(): Promise<void>;
}

export function sandbox(): Sandbox {
  const base = tempDir();
  const root = join(base, 'root');
  const created: Container[] = [];
  let bundles = 0;
  const box: Sandbox = {
    base,
    root,
    bundle(opts = {}) {
      return writeBundle(join(base, `bundle-${++bundles}`), opts);
    },
    async create(opts = {}, extra = {}) {
      const container = await Container.create({
        root,
        id: uniqueId(),
        bundle: box.bundle(opts),
        ...extra,
      });
      created.push(container);
      return container;
    },
    async cleanup() {
      for (const container of created) {
        await container.delete({ force: true }).catch(() => {});
      }
      try {
        assertNothingLeft(
          root,
          created.map((c) => c.id),
        );
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
  return box;
}

/** Container ids the runtime holds in the runtime root berth gives the state root `root`. */
export function runtimeIds(root: string, runtime = 'runc'): string[] {
  const runtimeRoot = join(root, '.runtime', runtime);
  return execFileSync(runtime, ['--root', runtimeRoot, 'list', '-q'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

export function assertNothingLeft(root: string, ids: string[]): void {
  let left: string[] = [];
  try {
    // The runtime's own state folder (.runtime) stays, as runc's /run/runc does.
    left = readdirSync(root).filter((name) => name !== '.runtime');
  } catch {
    // No root at all: nothing left.
  }
  assert.deepEqual(left, [], `state folders left under ${root}`);
  const known = new Set(runtimeIds(root));
  assert.deepEqual(
    ids.filter((id) => known.has(id)),
    [],
    'runtime state left behind',
  );
  assert.deepEqual(processesUnder(root), [], 'processes left running in the state root');
}

/** Reads a whole Node stream as text. */
export async function readAll(stream: NodeJS.ReadableStream | null): Promise<string> {
  if (!stream) return '';
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** The freezer state the kernel reports for a PID's cgroup (cgroup v1). */
export function freezerState(pid: number): string | undefined {
  const line = readFileLines(`/proc/${pid}/cgroup`).find((l) =>
    l.split(':')[1]?.split(',').includes('freezer'),
  );
  if (!line) return undefined;
  const path = line.split(':').slice(2).join(':');
  return readFileLines(join('/sys/fs/cgroup/freezer', path, 'freezer.state'))[0];
}

function readFileLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean);
}

/** Reads from `stream` until `pattern` matches what has arrived. */
export async function readUntil(
  stream: Readable,
  pattern: RegExp,
  seen = { text: '' },
): Promise<RegExpMatchArray> {
  stream.setEncoding('utf8');
  for (;;) {
    const match = seen.text.match(pattern);
    if (match) return match;
    const chunk = await new Promise<string | null>((resolve) => {
      const onData = (data: string) => finish(data);
      const onEnd = () => finish(null);
      const finish = (value: string | null) => {
        stream.off('data', onData).off('end', onEnd);
        stream.pause();
        resolve(value);
      };
      stream.on('data', onData).on('end', onEnd);
      stream.resume();
    });
    if (chunk === null)
      throw new Error(`stream ended before ${pattern}: ${JSON.stringify(seen.text)}`);
    seen.text += chunk;
  }
}

/** A fault-injecting or recording OCI runtime from test/fixtures/runtimes. */
export function fakeRuntime(name: string): string {
  return fileURLToPath(new URL(`../../../test/fixtures/runtimes/${name}`, import.meta.url));
}
