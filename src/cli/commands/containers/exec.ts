/** `berth containers exec --id ID -- ARGS...`: another process in a running container. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';
import { printJson } from '../../output.js';
import { envArg, uint32Arg } from '../../parse.js';
import { runAttached } from '../../session.js';
import { mergeEnv } from '../../spec.js';
import { act, examples, leaf } from '../common.js';
import { oneContainer } from './lookup.js';

/** A random process id for an exec whose --pid was left out. */
function generatedPid(): string {
  return `exec-${Math.random().toString(16).slice(2, 10)}`;
}

export function execCommand(): CommandUnknownOpts {
  const command = leaf('exec', 'run another process in a running container')
    .argument('[args...]', 'the command and its arguments (after --)')
    .requiredOption('--id <id>', 'container id')
    .option('--pid <pid>', 'id for the new process (default: exec-<random>)')
    .option('-a, --attach', "attach this terminal to the process's stdio and exit with its status")
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
    );
  return act(command, async (ctx, [args], opts) => {
    const client = ctx.client();
    const { id, uid, gid } = opts;
    const pid = opts.pid ?? generatedPid();
    if (!args.length) throw new UsageError('exec needs the command to run: -- ARGS...');
    const terminal = opts.tty === true;
    // berthd takes an exec's env as the whole of it: -e adds to the container's own, as docker exec does.
    const given = opts.env ?? [];
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
      cwd: opts.cwd ?? '',
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
  });
}
