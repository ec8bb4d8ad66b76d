/** `berth checkpoints ...`: ctr v0.2.8's checkpoint commands. */
import { resolve } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { addGlobalOptions, addJsonOption, context, type Context } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson } from '../output.js';
import { collect } from '../parse.js';
import { checkpointsTable } from '../views.js';
import { act, examples, leaf } from './common.js';

function checkpointDir(opts: { checkpointDir?: string | undefined }): string {
  return opts.checkpointDir ? resolve(opts.checkpointDir) : '';
}

async function list(ctx: Context, id: string, dir: string): Promise<void> {
  const checkpoints = await ctx.client().listCheckpoints(id, dir);
  if (ctx.json) printJson(ctx.out, checkpoints);
  else ctx.out.write(checkpointsTable(checkpoints));
}

export function checkpointsCommand(): Command {
  const group = new Command('checkpoints')
    .description("a container's checkpoints (CRIU); with an id and no command: list them")
    .usage('[command] [options]')
    .allowExcessArguments(true)
    .enablePositionalOptions()
    .option('--checkpoint-dir <dir>', "where the checkpoints are (default: berthd's)");
  addGlobalOptions(group, true);
  addJsonOption(group, 'print JSON for scripts', true);
  group.addHelpText(
    'after',
    examples(
      'berth checkpoints web',
      'berth checkpoints create web cp1',
      'berth checkpoints delete web cp1',
    ),
  );
  // As ctr: `checkpoints ID` lists them.
  group.action(async (opts, command) => {
    const [id, ...rest] = command.args;
    if (id === undefined || rest.length)
      throw new UsageError(
        id === undefined
          ? "checkpoints needs a command or a container id; see 'berth checkpoints --help'"
          : `unknown command '${id}' for 'berth checkpoints'; see 'berth checkpoints --help'`,
      );
    await list(context(command), id, checkpointDir(opts));
  });

  const listCommand = leaf('list', "list a container's checkpoints")
    .alias('ls')
    .argument('<id>', 'container id')
    .option('--checkpoint-dir <dir>', 'where the checkpoints are')
    .addHelpText(
      'after',
      examples('berth checkpoints list web', 'berth checkpoints list --json web'),
    );
  group.addCommand(
    act(listCommand, async (ctx, [id], opts) => {
      await list(ctx, id, checkpointDir(opts));
    }),
  );

  const create = leaf('create', 'checkpoint a running container', false)
    .argument('<id>', 'container id')
    .argument('<name>', 'checkpoint name')
    .option('--tcp', 'keep established TCP connections')
    .option('--unix-sockets', 'keep external unix sockets')
    .option('--shell', 'allow a shell job (a process with a controlling terminal)')
    .option('--exit', 'stop the container once the checkpoint is made')
    .option('--empty-ns <ns>', 'a namespace to create but not restore (repeatable)', collect)
    .option('--checkpoint-dir <dir>', 'where to put the checkpoint')
    .addHelpText(
      'after',
      examples(
        'berth checkpoints create web before-upgrade',
        'berth checkpoints create --exit --tcp web cp1',
      ),
    );
  group.addCommand(
    act(create, async (ctx, [id, name], opts) => {
      await ctx.client().createCheckpoint({
        id,
        checkpointDir: checkpointDir(opts),
        checkpoint: {
          name,
          exit: opts.exit === true,
          tcp: opts.tcp === true,
          unixSockets: opts.unixSockets === true,
          shell: opts.shell === true,
          emptyNS: opts.emptyNs ?? [],
        },
      });
    }),
  );

  const deleteCommand = leaf('delete', 'delete a checkpoint', false)
    .alias('rm')
    .argument('<id>', 'container id')
    .argument('<name>', 'checkpoint name')
    .option('--checkpoint-dir <dir>', 'where the checkpoint is')
    .addHelpText('after', examples('berth checkpoints delete web before-upgrade'));
  group.addCommand(
    act(deleteCommand, async (ctx, [id, name], opts) => {
      await ctx.client().deleteCheckpoint({ id, name, checkpointDir: checkpointDir(opts) });
    }),
  );
  return group;
}
