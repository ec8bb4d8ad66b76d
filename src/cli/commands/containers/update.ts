/** `berth containers update`: a running container's resource limits, every field of UpdateResource. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';
import { bytesArg, deviceArg, uint64Arg, type DeviceValue } from '../../parse.js';
import { act, examples, leaf } from '../common.js';

function weightDevice(d: DeviceValue) {
  return {
    blkIODevice: { major: d.major, minor: d.minor },
    weight: Number(d.value),
    leafWeight: Number(d.leaf ?? 0n),
  };
}

function throttleDevice(d: DeviceValue) {
  return { blkIODevice: { major: d.major, minor: d.minor }, rate: d.value };
}

export function updateCommand(): CommandUnknownOpts {
  // ctr's flag names where ctr had the field.
  const command = leaf('update', "change a running container's resource limits", false)
    .argument('<id>', 'container id')
    .option('--memory-limit <bytes>', 'memory limit', bytesArg)
    .option('--memory-reservation <bytes>', 'memory soft limit', bytesArg)
    .option('--memory-swap <bytes>', 'memory plus swap limit (-1: unlimited)', bytesArg)
    .option('--kernel-limit <bytes>', 'kernel memory limit', bytesArg)
    .option('--kernel-tcp-limit <bytes>', 'kernel TCP buffer memory limit', bytesArg)
    .option('--cpu-shares <n>', 'CPU shares (relative weight)', uint64Arg)
    .option('--cpu-period <us>', 'CFS period, microseconds', uint64Arg)
    .option('--cpu-quota <us>', 'CFS quota per period, microseconds (-1: none)', uint64Arg)
    .option('--cpuset-cpus <list>', 'CPUs allowed (0-3,5)')
    .option('--cpuset-mems <list>', 'memory nodes allowed')
    .option('--blkio-weight <n>', 'block IO weight (10-1000)', uint64Arg)
    .option('--blkio-leaf-weight <n>', 'block IO leaf weight (10-1000)', uint64Arg)
    .option(
      '--blkio-weight-device <maj:min:weight[:leaf]>',
      'block IO weight of a device (repeatable)',
      deviceArg(true),
    )
    .option(
      '--blkio-throttle-read-bps-device <maj:min:rate>',
      'read limit of a device, bytes/s (repeatable)',
      deviceArg(false),
    )
    .option(
      '--blkio-throttle-write-bps-device <maj:min:rate>',
      'write limit of a device, bytes/s (repeatable)',
      deviceArg(false),
    )
    .option(
      '--blkio-throttle-read-iops-device <maj:min:rate>',
      'read limit of a device, IO/s (repeatable)',
      deviceArg(false),
    )
    .option(
      '--blkio-throttle-write-iops-device <maj:min:rate>',
      'write limit of a device, IO/s (repeatable)',
      deviceArg(false),
    )
    .addHelpText(
      'after',
      examples(
        'berth containers update --memory-limit 256m --cpu-shares 512 web',
        'berth containers update --cpu-quota 50000 --cpu-period 100000 web',
        'berth containers update --blkio-throttle-read-bps-device 8:0:1048576 web',
      ),
    );
  return act(command, async (ctx, [id], opts) => {
    // A flag left out stays undefined, which the request's fromPartial sends as unset.
    const resources = {
      memoryLimit: opts.memoryLimit,
      memoryReservation: opts.memoryReservation,
      memorySwap: opts.memorySwap,
      kernelMemoryLimit: opts.kernelLimit,
      kernelTCPMemoryLimit: opts.kernelTcpLimit,
      cpuShares: opts.cpuShares,
      cpuPeriod: opts.cpuPeriod,
      cpuQuota: opts.cpuQuota,
      cpusetCpus: opts.cpusetCpus,
      cpusetMems: opts.cpusetMems,
      blkioWeight: opts.blkioWeight,
      blkioLeafWeight: opts.blkioLeafWeight,
      blkioWeightDevice: opts.blkioWeightDevice?.map(weightDevice),
      blkioThrottleReadBpsDevice: opts.blkioThrottleReadBpsDevice?.map(throttleDevice),
      blkioThrottleWriteBpsDevice: opts.blkioThrottleWriteBpsDevice?.map(throttleDevice),
      blkioThrottleReadIopsDevice: opts.blkioThrottleReadIopsDevice?.map(throttleDevice),
      blkioThrottleWriteIopsDevice: opts.blkioThrottleWriteIopsDevice?.map(throttleDevice),
    };
    if (Object.values(resources).every((value) => value === undefined))
      throw new UsageError(
        'update needs at least one resource flag (see berth containers update --help)',
      );
    await ctx.client().updateContainer({ id, pid: 'init', resources });
    return 0;
  });
}
