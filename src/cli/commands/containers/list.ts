/** `berth containers list` (and the bare `berth containers`): the containers, as a table or JSON. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Context } from '../../context.js';
import { printJson } from '../../output.js';
import { containerJson, containerStarts, containersTable } from '../../views.js';
import { act, examples, leaf } from '../common.js';

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

export function listCommand(): CommandUnknownOpts {
  const command = leaf('list', 'list the containers: ID, status, processes, PIDs, bundle, age')
    .alias('ls')
    .option('-q, --quiet', 'only the ids')
    .addHelpText(
      'after',
      examples('berth containers list', 'berth containers list --json | jq -r ".[].id"'),
    );
  return act(command, async (ctx, _args, opts) => {
    await listContainers(ctx, opts.quiet === true);
  });
}
