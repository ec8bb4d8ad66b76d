/** Runs one container of a whole bundle config (the busybox rootfs) to its exit on real runc. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container, type BundleConfig } from '../../src/index.js';
import { bundleConfig, ensureRootfs } from '../../support/busybox.js';
import { readAll, uniqueId, type Sandbox } from './env.js';

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** The busybox bundle's config (read-only rootfs, /tmp a tmpfs), as a spec to change. */
export function busyboxSpec(): BundleConfig {
  return bundleConfig({}, ensureRootfs()) as BundleConfig;
}

/** Writes `config` with `args` as a bundle under the sandbox, runs it, deletes the container. */
export async function runConfig(
  box: Sandbox,
  config: BundleConfig,
  args: string[],
): Promise<RunResult> {
  const id = uniqueId('sec');
  const bundle = join(box.base, `bundle-${id}`);
  mkdirSync(bundle, { recursive: true });
  writeFileSync(
    join(bundle, 'config.json'),
    JSON.stringify({ ...config, process: { ...config.process, args } }, null, 2),
  );
  const container = await Container.create({ root: box.root, id, bundle });
  try {
    const init = await container.start({ stdio: { stdout: 'pipe', stderr: 'pipe' } });
    const [stdout, stderr] = [readAll(init.stdout), readAll(init.stderr)];
    await init.start();
    const status = await init.wait();
    return { status, stdout: await stdout, stderr: await stderr };
  } finally {
    await container.delete({ force: true });
  }
}
