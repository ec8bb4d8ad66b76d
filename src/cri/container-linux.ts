/**
 * A CRI container's Linux config made into its OCI spec: resources and the
 * user (run_as_user, run_as_group). The minimal half of cri-sec's module
 * (security context, seccomp, capabilities, masked paths...): same exported
 * name and signature, so that one replaces this one at merge.
 */
import type { BundleConfig } from '../runtime/index.js';
import type { LinuxContainerConfig } from './generated/api.js';
import type { ContainerSpecContext } from './container-spec.js';
import { InvalidContainerConfigError } from './container-errors.js';

/** The kernel's bounds of oom_score_adj. */
const OOM_SCORE_ADJ_MIN = -1000;
const OOM_SCORE_ADJ_MAX = 1000;

export async function applyLinuxContainerConfig(
  spec: BundleConfig,
  linux: LinuxContainerConfig | undefined,
  ctx: ContainerSpecContext,
): Promise<void> {
  void ctx;
  const resources = linux?.resources;
  if (resources) {
    const section: Record<string, unknown> = {};
    const cpu: Record<string, unknown> = {};
    if (resources.cpuShares > 0n) cpu.shares = Number(resources.cpuShares);
    if (resources.cpuQuota !== 0n) cpu.quota = Number(resources.cpuQuota);
    if (resources.cpuPeriod > 0n) cpu.period = Number(resources.cpuPeriod);
    if (resources.cpusetCpus) cpu.cpus = resources.cpusetCpus;
    if (resources.cpusetMems) cpu.mems = resources.cpusetMems;
    if (Object.keys(cpu).length) section.cpu = cpu;
    if (resources.memoryLimitInBytes > 0n) {
      section.memory = {
        limit: Number(resources.memoryLimitInBytes),
        ...(resources.memorySwapLimitInBytes > 0n
          ? { swap: Number(resources.memorySwapLimitInBytes) }
          : {}),
      };
    }
    if (resources.hugepageLimits.length)
      section.hugepageLimits = resources.hugepageLimits.map((h) => ({
        pageSize: h.pageSize,
        limit: Number(h.limit),
      }));
    const linuxSpec = (spec.linux ??= {});
    linuxSpec.resources = { ...((linuxSpec.resources as object | undefined) ?? {}), ...section };
    const adj = Number(resources.oomScoreAdj);
    if (adj < OOM_SCORE_ADJ_MIN || adj > OOM_SCORE_ADJ_MAX)
      throw new InvalidContainerConfigError(`oom_score_adj ${adj} is outside -1000..1000`);
    if (adj !== 0) spec.process.oomScoreAdj = adj;
  }
  const security = linux?.securityContext;
  if (security?.runAsUser) {
    const user = (spec.process.user ??= { uid: 0, gid: 0 }) as { uid: number; gid: number };
    user.uid = Number(security.runAsUser.value);
    if (security.runAsGroup) user.gid = Number(security.runAsGroup.value);
  }
}
