/** `berth containers start ID BUNDLE`: create and start a container, detached or attached. */
import { resolve } from 'node:path';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InterruptedError } from '../../errors.js';
import { printJson } from '../../output.js';
import { collect } from '../../parse.js';
import { interruptible, progress } from '../../progress.js';
import { runAttached } from '../../session.js';
import { bundleWantsTerminal } from '../../spec.js';
import { act, examples, leaf } from '../common.js';

export function startCommand(): CommandUnknownOpts {
  const command = leaf('start', 'create and start a container from a bundle')
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
    );
  return act(command, async (ctx, [id, bundleArg], opts) => {
    const client = ctx.client();
    const bundlePath = resolve(bundleArg);
    const request = {
      id,
      bundlePath,
      checkpoint: opts.checkpoint ?? '',
      checkpointDir: opts.checkpointDir ? resolve(opts.checkpointDir) : '',
      labels: opts.label ?? [],
      noPivotRoot: opts.pivot === false,
      runtime: opts.runtime ?? '',
      runtimeArgs: opts.runtimeArgs ?? [],
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
  });
}
