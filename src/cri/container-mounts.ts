/**
 * A CRI container's mounts and devices in its OCI spec. The minimal half of
 * cri-sec's module (propagation, devices, checks): same exported name and
 * signature, so that one replaces this one at merge.
 */
import { posix } from 'node:path';
import type { BundleConfig } from '../runtime/index.js';
import type { Device, Mount } from './generated/api.js';
import type { ContainerSpecContext } from './container-spec.js';
import { InvalidContainerConfigError } from './container-errors.js';

export function applyMounts(
  spec: BundleConfig,
  mounts: readonly Mount[],
  devices: readonly Device[],
  ctx: ContainerSpecContext,
): void {
  void ctx;
  if (devices.length)
    throw new InvalidContainerConfigError('devices are not supported by this build');
  const existing = Array.isArray(spec.mounts)
    ? (spec.mounts as Array<{ destination: string }>)
    : [];
  const added = mounts.map((m) => {
    if (!posix.isAbsolute(m.containerPath) || !posix.isAbsolute(m.hostPath))
      throw new InvalidContainerConfigError(
        `mount paths must be absolute: ${JSON.stringify(m.hostPath)} → ${JSON.stringify(m.containerPath)}`,
      );
    return {
      destination: posix.normalize(m.containerPath),
      type: 'bind',
      source: m.hostPath,
      options: ['rbind', m.readonly ? 'ro' : 'rw'],
    };
  });
  spec.mounts = [
    ...existing.filter((m) => !added.some((a) => a.destination === m.destination)),
    ...added,
  ];
}
