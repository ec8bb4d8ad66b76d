/** `berth containers state ID`: one container's details and processes. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { printJson } from '../../output.js';
import { containerDetails, containerJson, containerStarts } from '../../views.js';
import { act, examples, leaf } from '../common.js';
import { oneContainer } from './lookup.js';

export function stateCommand(): CommandUnknownOpts {
  const command = leaf('state', "show one container's details and processes")
    .argument('<id>', 'container id')
    .addHelpText(
      'after',
      examples('berth containers state web', 'berth containers state web --json'),
    );
  return act(command, async (ctx, [id]) => {
    const client = ctx.client();
    const container = await oneContainer(client, id);
    const starts = await containerStarts(client, [container]);
    if (ctx.json) printJson(ctx.out, containerJson(container, starts));
    else ctx.out.write(containerDetails(container, starts.get(id)));
  });
}
