/** `berth containers kill`: a signal to containers or one of their processes, and maybe a wait for the exits. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Event } from '../../../api/generated/berth.js';
import {
  CliError,
  InterruptedError,
  UsageError,
  describeError,
  formatError,
} from '../../errors.js';
import { printJson, table } from '../../output.js';
import { durationArg, signalArg } from '../../parse.js';
import { interruptible, progress } from '../../progress.js';
import { act, examples, leaf } from '../common.js';

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

export function killCommand(): CommandUnknownOpts {
  const command = leaf('kill', 'send a signal to containers or one of their processes')
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
    );
  return act(command, async (ctx, [ids], opts) => {
    const client = ctx.client();
    const { pid } = opts;
    const signal = opts.signal ?? 15;
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
        const statuses = await waitForExits(stream, wanted, opts.timeout);
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
  });
}
