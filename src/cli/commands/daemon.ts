/** `berth events`, `berth state`, `berth version`: berthd as a whole. */
import { readFileSync } from 'node:fs';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { timestampFromNs } from '../../api/timestamp.js';
import { printJson, printJsonLine } from '../output.js';
import { interruptible } from '../progress.js';
import { sinceArg } from '../parse.js';
import {
  EVENT_HEADER,
  containerStarts,
  eventJson,
  eventLine,
  stateJson,
  stateText,
} from '../views.js';
import { act, examples, leaf } from './common.js';

/** This package's version, from package.json (three folders up from dist/src/cli/commands). */
export function clientVersion(): string {
  try {
    const text = readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function eventsCommand(): CommandUnknownOpts {
  const command = leaf('events', "berthd's events as they happen (after a replay with -t)")
    .option(
      '-t, --timestamp <since>',
      'first replay stored events after this time: RFC 3339, a duration ago (10m), or ns since the epoch',
      sinceArg,
    )
    .option('--id <id>', "only this container's events")
    .option('--stored-only', 'only replay stored events, then exit')
    .addHelpText(
      'after',
      examples(
        'berth events',
        'berth events -t 10m --id web',
        'berth events --stored-only -t 2024-05-01T10:00:00Z --json',
      ),
    );
  return act(command, async (ctx, _args, opts) => {
    const since = opts.timestamp;
    const storedOnly = opts.storedOnly === true;
    // Stored events only make sense from some time: from the start of the journal if none is given.
    const from = since ?? (storedOnly ? 1n : undefined);
    const stream = ctx.client().events({
      ...(from !== undefined ? { timestamp: timestampFromNs(from) } : {}),
      storedOnly,
      id: opts.id ?? '',
    });
    const interrupt = interruptible();
    interrupt.signal.addEventListener('abort', () => stream.cancel(), { once: true });
    try {
      if (!ctx.json) ctx.out.write(EVENT_HEADER);
      for await (const event of stream) {
        if (ctx.json) printJsonLine(ctx.out, eventJson(event));
        // `live` marks the end of the replay: a line for scripts, noise for people.
        else if (event.type !== 'live') ctx.out.write(eventLine(event));
      }
    } finally {
      interrupt.release();
      stream.cancel();
    }
  });
}

export function stateCommand(): CommandUnknownOpts {
  const command = leaf('state', "berthd's machine and every container, with processes")
    .argument('[id]', 'only this container')
    .addHelpText('after', examples('berth state', 'berth state --json', 'berth state web --json'));
  return act(command, async (ctx, [id]) => {
    const client = ctx.client();
    const state = await client.state(id ?? '');
    const starts = await containerStarts(client, state.containers);
    if (ctx.json) printJson(ctx.out, stateJson(state, starts));
    else ctx.out.write(stateText(state, starts));
  });
}

export function versionCommand(): CommandUnknownOpts {
  const command = leaf('version', "berth's and berthd's versions").addHelpText(
    'after',
    examples('berth version', 'berth version --json'),
  );
  return act(command, async (ctx) => {
    const client = clientVersion();
    if (ctx.json) {
      const server = await ctx.client().version();
      printJson(ctx.out, { client: { version: client }, server });
      return;
    }
    // The client's first: it is worth knowing even when berthd cannot be reached.
    ctx.out.write(`client: berth ${client}\n`);
    const server = await ctx.client().version();
    ctx.out.write(
      `server: berthd ${server.major}.${server.minor}.${server.patch} commit: ${server.revision}\n`,
    );
  });
}
