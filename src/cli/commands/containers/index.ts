/** `berth containers ...`: ctr v0.2.8's container commands against berthd, one file per command. */
import { Command } from '@commander-js/extra-typings';
import { addGlobalOptions, addJsonOption, context } from '../../context.js';
import { UsageError } from '../../errors.js';
import { examples } from '../common.js';
import { execCommand } from './exec.js';
import { killCommand } from './kill.js';
import { listCommand, listContainers } from './list.js';
import { pauseCommand, resumeCommand } from './pause-resume.js';
import { startCommand } from './start.js';
import { stateCommand } from './state.js';
import { statsCommand } from './stats.js';
import { updateCommand } from './update.js';
import { watchCommand } from './watch.js';

export { listContainers };

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
  group.action(async (_opts, command) => {
    const [unknown] = command.args;
    if (unknown !== undefined)
      throw new UsageError(
        `unknown command '${unknown}' for 'berth containers'; see 'berth containers --help'`,
      );
    await listContainers(context(command));
  });
  // In this order in `berth containers --help`.
  for (const command of [
    listCommand(),
    stateCommand(),
    startCommand(),
    execCommand(),
    killCommand(),
    pauseCommand(),
    resumeCommand(),
    updateCommand(),
    statsCommand(),
    watchCommand(),
  ])
    group.addCommand(command);
  return group;
}
