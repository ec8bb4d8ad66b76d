/** `berth containers pause` and `resume`: one call, two statuses. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { describeError, formatError } from '../../errors.js';
import { act, examples, leaf } from '../common.js';

function statusCommand(
  name: string,
  description: string,
  status: 'paused' | 'running',
): CommandUnknownOpts {
  const command = leaf(name, description, false)
    .argument('<ids...>', 'container ids')
    .addHelpText('after', examples(`berth containers ${name} web`));
  return act(command, async (ctx, [ids]) => {
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
  });
}

export function pauseCommand(): CommandUnknownOpts {
  return statusCommand('pause', 'freeze every process of containers', 'paused');
}

export function resumeCommand(): CommandUnknownOpts {
  return statusCommand('resume', 'thaw paused containers', 'running');
}
