/**
 * What a real pod sandbox needs, for the exec and stats tests: a local
 * registry with the test's busybox image pushed as the sandbox image, an
 * image store with it pulled, and a CNI configuration on a bridge and subnet
 * of the test's own (Debian's bridge, host-local, loopback plugins). cleanup()
 * removes the bridge, the cgroup parent and the folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore } from '../../src/images/index.js';
import { buildTestImage, pushImage, startRegistry, type Registry } from './registry.js';
import { run } from './host-net.js';

export interface PodEnv {
  base: string;
  store: ImageStore;
  sandboxImage: string;
  /** The pause container's command (the test image has no /pause). */
  sandboxCommand: string[];
  cniConfDir: string;
  netnsDir: string;
  cgroupParent: string;
  bridge: string;
  /** The bridge's address, the pods' gateway. */
  gateway: string;
  cleanup(): Promise<void>;
}

export async function podEnv(base: string): Promise<PodEnv> {
  const suffix = randomBytes(3).toString('hex');
  const third = randomBytes(1)[0]!;
  const bridge = `berthex${suffix}`;
  const network = `berthex-${suffix}`;
  const cniConfDir = join(base, 'net.d');
  const cgroupParent = `/berthex-${suffix}`;
  let registry: Registry | undefined;
  const cleanup = async () => {
    await registry?.stop();
    try {
      run(['ip', 'link', 'del', bridge]);
    } catch {
      // Never made.
    }
    for (const controller of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
      try {
        rmdirSync(join('/sys/fs/cgroup', controller, cgroupParent));
      } catch {
        // Not made in this hierarchy.
      }
    }
  };
  try {
    registry = await startRegistry();
    await buildTestImage(join(base, 'layout'), 'pause');
    const sandboxImage = await pushImage(join(base, 'layout'), 'pause', registry, 'pause');
    const store = await ImageStore.open({ root: join(base, 'store') });
    await store.pull(sandboxImage);
    mkdirSync(cniConfDir, { recursive: true });
    writeFileSync(
      join(cniConfDir, '10-berthex.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: network,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            ipMasq: false,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: `10.216.${third}.0/24`, gateway: `10.216.${third}.1` }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: join(base, 'ipam'),
            },
          },
          { type: 'loopback' },
        ],
      }),
    );
    return {
      base,
      store,
      sandboxImage,
      sandboxCommand: ['/bin/busybox', 'sleep', '2147483647'],
      cniConfDir,
      netnsDir: join(base, 'netns'),
      cgroupParent,
      bridge,
      gateway: `10.216.${third}.1`,
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A pod config as crictl's runp reads it (snake case), in a file of its own. */
export function podConfigFile(
  env: PodEnv,
  name: string,
  extra: Record<string, unknown> = {},
): string {
  const path = join(env.base, `${name}-${randomBytes(3).toString('hex')}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      metadata: {
        name,
        namespace: 'default',
        uid: `uid-${name}-${randomBytes(3).toString('hex')}`,
      },
      hostname: name,
      log_directory: join(env.base, 'logs', name),
      labels: { app: name },
      linux: { cgroup_parent: env.cgroupParent },
      ...extra,
    }),
  );
  return path;
}
