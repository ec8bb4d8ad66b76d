/** `berth containers ...`: ctr v0.2.8's container commands against berthd. */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { Container, Event, UpdateResource } from '../../api/generated/berth.js';
import type { BerthClient } from '../client.js';
import { addGlobalOptions, addJsonOption, context, type Context } from '../context.js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  CliError,
  InterruptedError,
  UsageError,
  describeError,
  formatError,
  isServiceError,
} from '../errors.js';
import { printJson, printJsonLine, redraw, table } from '../output.js';
import {
  bytesArg,
  collect,
  deviceArg,
  durationArg,
  envArg,
  signalArg,
  uint32Arg,
  uint64Arg,
  type DeviceValue,
} from '../parse.js';
import { interruptible, progress } from '../progress.js';
import { runAttached } from '../session.js';
import { bundleWantsTerminal, mergeEnv } from '../spec.js';
import {
  EVENT_HEADER,
  containerDetails,
  containerJson,
  containerStarts,
  containersTable,
  eventJson,
  eventLine,
  statsFigures,
  statsJson,
  statsTable,
  type StatsFigures,
  type StatsSample,
} from '../views.js';
import { examples, leaf, type Action } from './common.js';

export async function listContainers(ctx: Context, quiet = false): Promise<void> {
  const client = ctx.client();
  const { containers } = await client.state();
  if (quiet) {
    const ids = containers.map((c) => c.id).sort();
    if (ctx.json) printJson(ctx.out, ids);
    else ctx.out.write(ids.map((id) => `${id}\n`).join(''));
    return;
  }
  const starts = await containerStarts(client, containers);
  if (ctx.json)
    printJson(
      ctx.out,
      containers.map((c) => containerJson(c, starts)),
    );
  else ctx.out.write(containersTable(containers, starts));
}

async function oneContainer(client: BerthClient, id: string): Promise<Container> {
  const { containers } = await client.state(id);
  const found = containers.find((c) => c.id === id);
  if (!found) throw new CliError(`container ${id} not found`, 'NOT_FOUND');
  return found;
}

/** A random process id for an exec whose --pid was left out. */
function generatedPid(): string {
  return `exec-${Math.random().toString(16).slice(2, 10)}`;
}

const startAction: Action<[string, string]> = async (ctx, [id, bundleArg], opts) => {
  const client = ctx.client();
  const bundlePath = resolve(bundleArg);
  const request = {
    id,
    bundlePath,
    checkpoint: (opts.checkpoint as string | undefined) ?? '',
    checkpointDir: opts.checkpointDir ? resolve(opts.checkpointDir as string) : '',
    labels: (opts.label as string[] | undefined) ?? [],
    noPivotRoot: opts.pivot === false,
    runtime: (opts.runtime as string | undefined) ?? '',
    runtimeArgs: (opts.runtimeArgs as string[] | undefined) ?? [],
  };
  if (!opts.attach) {
    const interrupt = interruptible();
    const shown = progress(`starting ${id}`);
    try {
      const container = await client.createContainer(request, interrupt.signal);
      if (ctx.json) printJson(ctx.out, container ?? null);
    } catch (err) {
      if (interrupt.signal.aborted)
        throw new InterruptedError(`interrupted while starting ${id}; it may still have started`);
      throw err;
    } finally {
      shown.done();
      interrupt.release();
    }
    return 0;
  }
  // As ctr: the bundle's own process.terminal says whether to use a terminal.
  const terminal = bundleWantsTerminal(bundlePath);
  return runAttached({
    client,
    id,
    pid: 'init',
    terminal,
    label: `starting ${id}`,
    launch: async (stdio, signal) => {
      await client.createContainer({ ...request, ...stdio }, signal);
    },
  });
};

const execAction: Action<[string[]]> = async (ctx, [args], opts) => {
  const client = ctx.client();
  const id = opts.id as string;
  const pid = (opts.pid as string | undefined) ?? generatedPid();
  if (!args.length) throw new UsageError('exec needs the command to run: -- ARGS...');
  const uid = opts.uid as number | undefined;
  const gid = opts.gid as number | undefined;
  const terminal = opts.tty === true;
  // berthd takes an exec's env as the whole of it: -e adds to the container's own, as docker exec does.
  const given = (opts.env as string[] | undefined) ?? [];
  let env: string[] = [];
  if (given.length) {
    const init = (await oneContainer(client, id)).processes.find((p) => p.pid === 'init');
    env = mergeEnv(init?.env ?? [], given);
  }
  const request = {
    id,
    pid,
    args,
    terminal,
    env,
    cwd: (opts.cwd as string | undefined) ?? '',
    ...(uid !== undefined || gid !== undefined ? { user: { uid: uid ?? 0, gid: gid ?? 0 } } : {}),
  };
  if (!opts.attach) {
    const { systemPid } = await client.addProcess(request);
    if (ctx.json) printJson(ctx.out, { id, pid, systemPid });
    return 0;
  }
  return runAttached({
    client,
    id,
    pid,
    terminal,
    label: `starting ${pid} in ${id}`,
    launch: async (stdio, signal) => {
      await client.addProcess({ ...request, ...stdio }, signal);
    },
  });
};

/** Waits for the exit events of `targets` (container id → process id), with progress and Ctrl-C. */
async function waitForExits(
  events: AsyncIterable<Event>,
  targets: Map<string, string>,
  timeoutMs: number | undefined,
): Promise<Map<string, number>> {
  const total = targets.size;
  const exited = new Map<string, number>();
  const shown = progress(`waiting for ${total} to exit`);
  const interrupt = interruptible();
  let timer: NodeJS.Timeout | undefined;
  const stop = new Promise<'interrupted' | 'timeout'>((resolve) => {
    interrupt.signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let stopped: 'interrupted' | 'timeout' | undefined;
  const iterator = events[Symbol.asyncIterator]();
  try {
    while (exited.size < total) {
      const next = await Promise.race([iterator.next(), stop]);
      if (typeof next === 'string') {
        stopped = next;
        break;
      }
      if (next.done) break;
      const event = next.value;
      if (event.type === 'exit' && targets.get(event.id) === event.pid) {
        exited.set(event.id, event.status);
        shown.update(`waiting for ${total} to exit: ${exited.size}/${total} done`);
      }
    }
  } finally {
    if (timer) clearTimeout(timer);
    shown.done();
    interrupt.release();
    void iterator.return?.();
  }
  if (exited.size < total) {
    const left = [...targets.keys()].filter((id) => !exited.has(id)).join(', ');
    if (stopped === 'timeout')
      throw new CliError(`still running after the timeout: ${left}`, 'ERR_TIMEOUT');
    if (stopped === 'interrupted')
      throw new InterruptedError(`stopped waiting; still running: ${left}`);
    throw new CliError(`berthd ended the event stream; still running: ${left}`, 'UNAVAILABLE');
  }
  return exited;
}

const killAction: Action<[string[]]> = async (ctx, [ids], opts) => {
  const client = ctx.client();
  const pid = (opts.pid as string | undefined) ?? 'init';
  const signal = (opts.signal as number | undefined) ?? 15;
  let targets = ids;
  if (opts.all) {
    if (ids.length) throw new UsageError('give container ids or --all, not both');
    targets = (await client.state()).containers.map((c) => c.id);
  } else if (!ids.length) {
    throw new UsageError('kill needs a container id (or --all)');
  }
  const wanted = new Map(targets.map((id) => [id, pid]));
  // Subscribed before signalling: no exit is missed.
  const stream = opts.wait ? client.events({}) : undefined;
  let failed = 0;
  try {
    for (const id of targets) {
      try {
        await client.signal(id, pid, signal);
      } catch (err) {
        failed++;
        wanted.delete(id);
        process.stderr.write(`${formatError(describeError(err, ctx.address.address))}\n`);
      }
    }
    if (stream && wanted.size) {
      const statuses = await waitForExits(stream, wanted, opts.timeout as number | undefined);
      if (ctx.json)
        printJson(
          ctx.out,
          [...statuses].map(([id, status]) => ({ id, pid, status })),
        );
      else
        ctx.out.write(
          table(
            ['ID', 'EXIT STATUS'],
            [...statuses].map(([id, status]) => [id, String(status)]),
          ),
        );
    }
  } finally {
    stream?.cancel();
  }
  return failed ? 1 : 0;
};

function updateStatus(status: 'paused' | 'running'): Action<[string[]]> {
  return async (ctx, [ids]) => {
    const client = ctx.client();
    let failed = 0;
    for (const id of ids) {
      try {
        await client.updateContainer({ id, pid: 'init', status });
      } catch (err) {
        failed++;
        process.stderr.write(`${formatError(describeError(err, ctx.address.address))}\n`);
      }
    }
    return failed ? 1 : 0;
  };
}

/** Every UpdateResource field, by flag (ctr's names where ctr had the field). */
const UPDATE_FLAGS: Array<{
  flags: string;
  field: keyof UpdateResource;
  help: string;
  parse: 'bytes' | 'uint' | 'string' | 'weightDevice' | 'throttleDevice';
}> = [
  { flags: '--memory-limit <bytes>', field: 'memoryLimit', help: 'memory limit', parse: 'bytes' },
  {
    flags: '--memory-reservation <bytes>',
    field: 'memoryReservation',
    help: 'memory soft limit',
    parse: 'bytes',
  },
  {
    flags: '--memory-swap <bytes>',
    field: 'memorySwap',
    help: 'memory plus swap limit (-1: unlimited)',
    parse: 'bytes',
  },
  {
    flags: '--kernel-limit <bytes>',
    field: 'kernelMemoryLimit',
    help: 'kernel memory limit',
    parse: 'bytes',
  },
  {
    flags: '--kernel-tcp-limit <bytes>',
    field: 'kernelTCPMemoryLimit',
    help: 'kernel TCP buffer memory limit',
    parse: 'bytes',
  },
  {
    flags: '--cpu-shares <n>',
    field: 'cpuShares',
    help: 'CPU shares (relative weight)',
    parse: 'uint',
  },
  {
    flags: '--cpu-period <us>',
    field: 'cpuPeriod',
    help: 'CFS period, microseconds',
    parse: 'uint',
  },
  {
    flags: '--cpu-quota <us>',
    field: 'cpuQuota',
    help: 'CFS quota per period, microseconds (-1: none)',
    parse: 'uint',
  },
  {
    flags: '--cpuset-cpus <list>',
    field: 'cpusetCpus',
    help: 'CPUs allowed (0-3,5)',
    parse: 'string',
  },
  {
    flags: '--cpuset-mems <list>',
    field: 'cpusetMems',
    help: 'memory nodes allowed',
    parse: 'string',
  },
  {
    flags: '--blkio-weight <n>',
    field: 'blkioWeight',
    help: 'block IO weight (10-1000)',
    parse: 'uint',
  },
  {
    flags: '--blkio-leaf-weight <n>',
    field: 'blkioLeafWeight',
    help: 'block IO leaf weight (10-1000)',
    parse: 'uint',
  },
  {
    flags: '--blkio-weight-device <maj:min:weight[:leaf]>',
    field: 'blkioWeightDevice',
    help: 'block IO weight of a device (repeatable)',
    parse: 'weightDevice',
  },
  {
    flags: '--blkio-throttle-read-bps-device <maj:min:rate>',
    field: 'blkioThrottleReadBpsDevice',
    help: 'read limit of a device, bytes/s (repeatable)',
    parse: 'throttleDevice',
  },
  {
    flags: '--blkio-throttle-write-bps-device <maj:min:rate>',
    field: 'blkioThrottleWriteBpsDevice',
    help: 'write limit of a device, bytes/s (repeatable)',
    parse: 'throttleDevice',
  },
  {
    flags: '--blkio-throttle-read-iops-device <maj:min:rate>',
    field: 'blkioThrottleReadIopsDevice',
    help: 'read limit of a device, IO/s (repeatable)',
    parse: 'throttleDevice',
  },
  {
    flags: '--blkio-throttle-write-iops-device <maj:min:rate>',
    field: 'blkioThrottleWriteIopsDevice',
    help: 'write limit of a device, IO/s (repeatable)',
    parse: 'throttleDevice',
  },
];

/** commander's key for a flag: --memory-limit → memoryLimit. */
function optionKey(flags: string): string {
  const long = /--([a-z0-9-]+)/.exec(flags)![1]!;
  return long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const updateAction: Action<[string]> = async (ctx, [id], opts) => {
  const resources: Record<string, unknown> = {};
  for (const flag of UPDATE_FLAGS) {
    const value = opts[optionKey(flag.flags)];
    if (value === undefined) continue;
    if (flag.parse === 'weightDevice') {
      resources[flag.field] = (value as DeviceValue[]).map((d) => ({
        blkIODevice: { major: d.major, minor: d.minor },
        weight: Number(d.value),
        leafWeight: Number(d.leaf ?? 0n),
      }));
    } else if (flag.parse === 'throttleDevice') {
      resources[flag.field] = (value as DeviceValue[]).map((d) => ({
        blkIODevice: { major: d.major, minor: d.minor },
        rate: d.value,
      }));
    } else {
      resources[flag.field] = value;
    }
  }
  if (!Object.keys(resources).length)
    throw new UsageError(
      'update needs at least one resource flag (see berth containers update --help)',
    );
  await ctx.client().updateContainer({ id, pid: 'init', resources });
  return 0;
};

/**
 * One stats sample per container. `strict`: an unknown id is an error (the
 * first round, ids given); otherwise containers that have gone are left out.
 */
async function sample(client: BerthClient, ids: string[], strict: boolean): Promise<StatsSample[]> {
  const samples = await Promise.all(
    ids.map(async (id) => {
      try {
        return { id, stats: await client.stats(id) };
      } catch (err) {
        if (strict || !(isServiceError(err) && err.code === GrpcStatus.NOT_FOUND)) throw err;
        return undefined;
      }
    }),
  );
  return samples.filter((s): s is StatsSample => s !== undefined);
}

const statsAction: Action<[string[]]> = async (ctx, [given], opts) => {
  let ids = given;
  const client = ctx.client();
  const all = ids.length === 0;
  const listIds = async () => (all ? (await client.state()).containers.map((c) => c.id) : ids);
  const intervalMs = (opts.interval as number | undefined) ?? 1000;
  let previous = new Map<string, StatsSample>();
  const figuresOf = (samples: StatsSample[]) =>
    samples.map((s) => statsFigures(s, previous.get(s.id)));
  if (opts.stream === false) {
    // CPU % needs two samples.
    const initial = await sample(client, await listIds(), !all);
    previous = new Map(initial.map((s) => [s.id, s]));
    await sleep(Math.min(intervalMs, 500));
    const second = await sample(
      client,
      initial.map((s) => s.id),
      false,
    );
    const figures = figuresOf(second);
    if (ctx.json)
      printJson(
        ctx.out,
        second.map((s, i) => statsJson(s, figures[i]!)),
      );
    else ctx.out.write(statsTable(figures));
    return 0;
  }
  const live = ctx.out.isTTY && !ctx.json;
  const interrupt = interruptible();
  let headerDone = false;
  let first = true;
  try {
    while (!interrupt.signal.aborted) {
      const wanted = await listIds();
      const samples = await sample(client, wanted, first && !all);
      first = false;
      const figures: StatsFigures[] = figuresOf(samples);
      previous = new Map(samples.map((s) => [s.id, s]));
      if (ctx.json) {
        samples.forEach((s, i) => printJsonLine(ctx.out, statsJson(s, figures[i]!)));
      } else if (live) {
        redraw(ctx.out, statsTable(figures), !headerDone);
        headerDone = true;
      } else {
        const text = statsTable(figures);
        const lines = text.split('\n');
        ctx.out.write(`${(headerDone ? lines.slice(1) : lines).join('\n')}`);
        headerDone = true;
      }
      // The containers named are all gone: nothing more to show.
      if (!all && samples.length === 0) break;
      if (!all) ids = samples.map((s) => s.id);
      await sleep(intervalMs, undefined, { signal: interrupt.signal }).catch(() => {});
    }
  } finally {
    interrupt.release();
  }
  return 0;
};

const watchAction: Action<[string | undefined]> = async (ctx, [id]) => {
  const client = ctx.client();
  if (id) await oneContainer(client, id);
  const stream = client.events(id ? { id } : {});
  const live = ctx.out.isTTY && !ctx.json;
  const interrupt = interruptible();
  interrupt.signal.addEventListener('abort', () => stream.cancel(), { once: true });
  const recent: Event[] = [];
  let repaint: (() => Promise<void>) | undefined;
  let ticker: NodeJS.Timeout | undefined;
  if (live) {
    let drawing = false;
    let drawn = false;
    repaint = async () => {
      if (drawing) return;
      drawing = true;
      try {
        const { containers } = await client.state();
        const shown = id ? containers.filter((c) => c.id === id) : containers;
        const starts = await containerStarts(client, shown);
        const events = recent.map((e) => eventLine(e)).join('');
        redraw(ctx.out, `${containersTable(shown, starts)}\n${EVENT_HEADER}${events}`, !drawn);
        drawn = true;
      } catch {
        // berthd went away: the event stream says so.
      } finally {
        drawing = false;
      }
    };
    await repaint();
    ticker = setInterval(() => void repaint?.(), 1000);
  } else if (!ctx.json) {
    ctx.out.write(EVENT_HEADER);
  }
  try {
    for await (const event of stream) {
      if (event.type === 'live') continue;
      if (ctx.json) printJsonLine(ctx.out, eventJson(event));
      else if (live) {
        recent.push(event);
        if (recent.length > 10) recent.shift();
        await repaint?.();
      } else ctx.out.write(eventLine(event));
      // Watching one container: its init's exit is the end of it.
      if (id && event.type === 'exit' && event.id === id && event.pid === 'init') break;
    }
  } finally {
    if (ticker) clearInterval(ticker);
    stream.cancel();
    interrupt.release();
  }
  return 0;
};

const stateAction: Action<[string]> = async (ctx, [id]) => {
  const client = ctx.client();
  const container = await oneContainer(client, id);
  const starts = await containerStarts(client, [container]);
  if (ctx.json) printJson(ctx.out, containerJson(container, starts));
  else ctx.out.write(containerDetails(container, starts.get(id)));
};

export function containersCommand(): Command {
  const group = new Command('containers')
    .description('interact with containers (with no command: list them)')
    .allowExcessArguments(true)
    .enablePositionalOptions();
  addGlobalOptions(group, true);
  addJsonOption(group, 'print JSON for scripts', true);
  group.addHelpText(
    'after',
    examples(
      'berth containers',
      'berth containers start -a web ./bundle',
      'berth containers kill --all --wait',
    ),
  );
  group.action(async (_opts: unknown, command: Command) => {
    const [unknown] = command.args;
    if (unknown !== undefined)
      throw new UsageError(
        `unknown command '${unknown}' for 'berth containers'; see 'berth containers --help'`,
      );
    await listContainers(context(command));
  });

  group.addCommand(
    leaf('list', 'list the containers: ID, status, processes, PIDs, bundle, age', listActionAdapter)
      .alias('ls')
      .option('-q, --quiet', 'only the ids')
      .addHelpText(
        'after',
        examples('berth containers list', 'berth containers list --json | jq -r ".[].id"'),
      ),
  );

  group.addCommand(
    leaf('state', "show one container's details and processes", stateAction)
      .argument('<id>', 'container id')
      .addHelpText(
        'after',
        examples('berth containers state web', 'berth containers state web --json'),
      ),
  );

  group.addCommand(
    leaf('start', 'create and start a container from a bundle', startAction)
      .argument('<id>', 'container id')
      .argument('<bundle>', 'bundle folder (holding config.json)')
      .option(
        '-a, --attach',
        "attach this terminal to the container's stdio and exit with its status",
      )
      .option('-c, --checkpoint <name>', 'restore from this checkpoint')
      .option('--checkpoint-dir <dir>', 'where the checkpoint is')
      .option('-l, --label <key=value>', 'a label (repeatable)', collect)
      .option('--no-pivot', 'do not use pivot_root (for a rootfs on a ramdisk)')
      .option('-r, --runtime <runtime>', "OCI runtime name or path (default: berthd's)")
      .option('--runtime-args <arg>', 'an argument for the runtime (repeatable)', collect)
      .addHelpText(
        'after',
        examples(
          'berth containers start web /srv/bundles/web',
          'berth containers start -a job1 ./bundle        # attached; exits with its status',
          'berth containers start -l team=a -r crun web ./bundle',
        ),
      ),
  );

  group.addCommand(
    leaf('exec', 'run another process in a running container', execAction)
      .argument('[args...]', 'the command and its arguments (after --)')
      .requiredOption('--id <id>', 'container id')
      .option('--pid <pid>', 'id for the new process (default: exec-<random>)')
      .option(
        '-a, --attach',
        "attach this terminal to the process's stdio and exit with its status",
      )
      .option('-t, --tty', 'give the process a terminal (raw mode here, window size forwarded)')
      .option('--cwd <dir>', "working directory (default: the container process's)")
      .option('-e, --env <key=value>', 'an environment variable (repeatable)', envArg)
      .option('-u, --uid <uid>', 'user id', uint32Arg)
      .option('-g, --gid <gid>', 'group id', uint32Arg)
      .passThroughOptions()
      .addHelpText(
        'after',
        examples(
          'berth containers exec --id web --pid sh1 -a -t -- sh',
          'echo hi | berth containers exec --id web -a -- cat',
          'berth containers exec --id web --pid bg -- sleep 60     # detached',
        ),
      ),
  );

  group.addCommand(
    leaf('kill', 'send a signal to containers or one of their processes', killAction)
      .argument('[ids...]', 'container ids')
      .option('-p, --pid <pid>', 'process to signal', 'init')
      .option('-s, --signal <signal>', 'signal name or number (default: TERM)', signalArg)
      .option('--all', 'every container')
      .option(
        '-w, --wait',
        'wait until they have exited (progress on a terminal; Ctrl-C stops waiting)',
      )
      .option('--timeout <duration>', 'with --wait: give up after this long (10s, 2m)', durationArg)
      .addHelpText(
        'after',
        examples(
          'berth containers kill web',
          'berth containers kill -s KILL --wait web db',
          'berth containers kill -p sh1 -s INT web',
          'berth containers kill --all -s 9 --wait --timeout 30s',
        ),
      ),
  );

  group.addCommand(
    leaf('pause', 'freeze every process of containers', updateStatus('paused'), false)
      .argument('<ids...>', 'container ids')
      .addHelpText('after', examples('berth containers pause web')),
  );
  group.addCommand(
    leaf('resume', 'thaw paused containers', updateStatus('running'), false)
      .argument('<ids...>', 'container ids')
      .addHelpText('after', examples('berth containers resume web')),
  );

  const update = leaf('update', "change a running container's resource limits", updateAction, false)
    .argument('<id>', 'container id')
    .addHelpText(
      'after',
      examples(
        'berth containers update --memory-limit 256m --cpu-shares 512 web',
        'berth containers update --cpu-quota 50000 --cpu-period 100000 web',
        'berth containers update --blkio-throttle-read-bps-device 8:0:1048576 web',
      ),
    );
  for (const flag of UPDATE_FLAGS) {
    const parser =
      flag.parse === 'bytes'
        ? bytesArg
        : flag.parse === 'uint'
          ? uint64Arg
          : flag.parse === 'weightDevice'
            ? deviceArg(true)
            : flag.parse === 'throttleDevice'
              ? deviceArg(false)
              : undefined;
    if (parser) update.option(flag.flags, flag.help, parser as (v: string) => unknown);
    else update.option(flag.flags, flag.help);
  }
  group.addCommand(update);

  group.addCommand(
    leaf(
      'stats',
      'CPU, memory, PIDs, block and network IO, refreshed (all containers if no id)',
      statsAction,
    )
      .argument('[ids...]', 'container ids')
      .option('--no-stream', 'one sample, then exit')
      .option('--interval <duration>', 'time between samples (default 1s)', durationArg)
      .addHelpText(
        'after',
        examples(
          'berth containers stats                   # every container, refreshed in place',
          'berth containers stats --no-stream web',
          'berth containers stats --json web        # JSON lines, one per sample',
        ),
      ),
  );

  group.addCommand(
    leaf(
      'watch',
      'follow containers live: a refreshed table on a terminal, event lines when piped',
      watchAction,
    )
      .argument('[id]', 'only this container (ends when it exits)')
      .addHelpText(
        'after',
        examples(
          'berth containers watch',
          'berth containers watch web',
          'berth containers watch --json | head',
        ),
      ),
  );
  return group;
}

const listActionAdapter: Action<[]> = async (ctx, _args, opts) => {
  await listContainers(ctx, opts.quiet === true);
};
