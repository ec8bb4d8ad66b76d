/** `berth containers stats`: CPU, memory, PIDs and IO, once or refreshed. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { BerthClient } from '../../client.js';
import { isServiceError } from '../../errors.js';
import { printJson, printJsonLine, redraw } from '../../output.js';
import { durationArg } from '../../parse.js';
import { interruptible } from '../../progress.js';
import {
  statsFigures,
  statsJson,
  statsTable,
  type StatsFigures,
  type StatsSample,
} from '../../views.js';
import { act, examples, leaf } from '../common.js';

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

export function statsCommand(): CommandUnknownOpts {
  const command = leaf(
    'stats',
    'CPU, memory, PIDs, block and network IO, refreshed (all containers if no id)',
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
    );
  return act(command, async (ctx, [given], opts) => {
    let ids = given;
    const client = ctx.client();
    const all = ids.length === 0;
    const listIds = async () => (all ? (await client.state()).containers.map((c) => c.id) : ids);
    const intervalMs = opts.interval ?? 1000;
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
  });
}
