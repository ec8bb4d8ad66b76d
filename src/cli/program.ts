/**
 * The command tree (commander): ctr v0.2.8's commands and flags, plus `run`,
 * `spec` and `completion`; and `runCli`, which parses, runs, and turns every
 * failure into one line and an exit status.
 */
import { Command, CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { bashCompletion } from './completion.js';
import { checkpointsCommand } from './commands/checkpoints.js';
import { act, examples, leaf } from './commands/common.js';
import { containersCommand } from './commands/containers/index.js';
import { clientVersion, eventsCommand, stateCommand, versionCommand } from './commands/daemon.js';
import { imagesCommand } from './commands/images.js';
import { runCommand } from './commands/run.js';
import { specCommand } from './commands/spec.js';
import {
  ADDRESS_ENV,
  addGlobalOptions,
  addJsonOption,
  closeClients,
  resolveAddress,
} from './context.js';
import { DEFAULT_ADDRESS } from '../api/address.js';
import {
  EXIT_FAILURE,
  EXIT_USAGE,
  UsageError,
  describeError,
  formatError,
  type Described,
} from './errors.js';

function commandPath(command: CommandUnknownOpts): string {
  const names: string[] = [];
  for (let c: CommandUnknownOpts | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** commander's own errors (unknown option, missing argument, ...) as usage errors of that command. */
class CommandLineError extends UsageError {
  constructor(
    readonly commanderCode: string,
    message: string,
    /** The command whose line was wrong: `berth containers start`. */
    readonly path: string,
  ) {
    super(message);
  }
}

function applyToAll(command: CommandUnknownOpts, apply: (c: CommandUnknownOpts) => void): void {
  apply(command);
  for (const sub of command.commands) applyToAll(sub, apply);
}

export function createProgram(): CommandUnknownOpts {
  const program = new Command('berth')
    .description(
      "berth: containerd v0.2.8's ctr for berthd, plus `run` (with or without a daemon) and `spec`",
    )
    .version(clientVersion(), '-v, --version', "print berth's version")
    .enablePositionalOptions()
    .showSuggestionAfterError(true);
  addGlobalOptions(program, false);
  addJsonOption(program, 'print JSON for scripts (any command; also after the command)');

  program
    .addCommand(runCommand())
    .addCommand(imagesCommand())
    .addCommand(containersCommand())
    .addCommand(checkpointsCommand())
    .addCommand(eventsCommand())
    .addCommand(stateCommand())
    .addCommand(versionCommand())
    .addCommand(specCommand())
    .addCommand(
      act(
        leaf('completion', 'print a shell completion script', false)
          .argument('<shell>', 'bash')
          .addHelpText(
            'after',
            examples(
              'berth completion bash > /etc/bash_completion.d/berth',
              'source <(berth completion bash)',
            ),
          ),
        async (ctx, [shell]) => {
          if (shell !== 'bash')
            throw new UsageError(`no completion for ${shell}: only bash is supported`);
          ctx.out.write(bashCompletion(program));
        },
      ),
    );

  program.addHelpText(
    'after',
    `
Global options go before or after the command: --address ADDRESS
(default: $${ADDRESS_ENV}, else ${DEFAULT_ADDRESS}), --json, --debug.

Exit status: 0 done; the container's or process's own status for attached
runs (run, containers start -a, containers exec -a; 128+N if killed by
signal N); 1 for an error (one line on stderr: berth: <what> (<code>), the
code being berthd's gRPC status or the library's error code); 2 for a usage
error; 130 when Ctrl-C ended a wait.
${examples(
  "berth run --rootfs /var/tmp/berth-busybox-rootfs --rm -- sh -c 'echo hi; exit 3'",
  'berth containers start -a web /srv/bundles/web',
  'berth containers exec --id web --pid sh1 -a -t -- sh',
  'berth containers list --json',
  'berth events -t 10m',
)}`,
  );

  applyToAll(program, (command) => {
    command
      .exitOverride((err: CommanderError) => {
        throw new CommandLineError(err.code, err.message, commandPath(command));
      })
      .configureOutput({ outputError: () => {} })
      .showHelpAfterError(false);
  });
  return program;
}

function usageMessage(err: CommandLineError): string {
  const text = err.message.replace(/^error:\s*/i, '').trim();
  return `${text}; see '${err.path} --help'`;
}

/** Runs the CLI on `argv` (without node and the script); resolves with the exit status. */
export async function runCli(argv: string[]): Promise<number> {
  let acting: CommandUnknownOpts | undefined;
  const debug = argv.includes('--debug');
  process.exitCode = undefined;
  try {
    const program = createProgram();
    program.hook('preAction', (_program, actionCommand) => {
      acting = actionCommand;
    });
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommandLineError) {
      // --help and --version "fail" with status 0; help shown for a bare group is a usage error.
      if (
        err.commanderCode === 'commander.helpDisplayed' ||
        err.commanderCode === 'commander.version'
      )
        return 0;
      if (err.commanderCode === 'commander.help') return EXIT_USAGE;
      process.stderr.write(`${formatError({ message: usageMessage(err), code: err.code })}\n`);
      return EXIT_USAGE;
    }
    let address: string | undefined;
    try {
      address = acting ? resolveAddress(acting).address : undefined;
    } catch {
      address = undefined;
    }
    const described: Described = describeError(err, address);
    process.stderr.write(`${formatError(described)}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return described.exitCode || EXIT_FAILURE;
  } finally {
    closeClients();
  }
}
