/** `berth spec`: a config.json as `runc spec` writes it, for people who want to edit one. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { CliError } from '../errors.js';
import { bytesArg, envArg, positiveNumberArg } from '../parse.js';
import { configJson, defaultSpec, overridesFromOptions, writeConfig } from '../spec.js';
import { act, examples, leaf } from './common.js';

export function specCommand(): CommandUnknownOpts {
  const command = leaf('spec', 'write a config.json as runc spec does, to edit')
    .usage('[options] [--] [CMD [ARGS...]]')
    .argument('[command...]', 'the process (default: sh)')
    .option('-b, --bundle <dir>', 'write DIR/config.json (default: ./config.json)')
    .option('--rootfs <dir>', 'root filesystem (default: "rootfs", beside config.json)')
    .option('--no-terminal', 'no terminal for the process (runc spec gives one)')
    .option('-e, --env <key=value>', 'an environment variable (repeatable)', envArg)
    .option('--cwd <dir>', 'working directory')
    .option('--hostname <name>', 'hostname (default: berth)')
    .option('--memory <bytes>', 'memory limit: 67108864, 64m, 1g', bytesArg)
    .option('--cpus <n>', 'CPU time limit, in CPUs', positiveNumberArg)
    .option('--force', 'replace an existing config.json')
    .option('--stdout', 'print the config instead of writing it')
    .passThroughOptions()
    .addHelpText(
      'after',
      examples(
        'berth spec                                   # ./config.json, rootfs ./rootfs, sh on a terminal',
        "berth spec -b ./bundle --rootfs /srv/rootfs --no-terminal -- sh -c 'echo hi'",
        'berth spec --stdout --memory 64m | jq .linux.resources',
      ),
    );
  return act(command, async (ctx, [args], opts) => {
    const config = defaultSpec({
      ...(opts.rootfs !== undefined ? { rootfs: resolve(opts.rootfs) } : {}),
      ...overridesFromOptions(opts, args),
      terminal: opts.terminal !== false,
    });
    if (opts.stdout) {
      ctx.out.write(configJson(config));
      return;
    }
    const dir = resolve(opts.bundle ?? '.');
    const path = join(dir, 'config.json');
    if (existsSync(path) && !opts.force)
      throw new CliError(`${path} exists: remove it first, or use --force`, 'EEXIST');
    writeConfig(dir, config);
    if (ctx.json) ctx.out.write(`${JSON.stringify({ path })}\n`);
  });
}
