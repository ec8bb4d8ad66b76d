/** What every command shares: the global options, `--json`, the action wrapper, example texts. */
import { Command, type CommandUnknownOpts, type OptionValues } from '@commander-js/extra-typings';
import { addGlobalOptions, addJsonOption, context, type Context } from '../context.js';

/**
 * An action: the context, the positional arguments, the options, the
 * command. A number returned is the exit status (an attached process's own,
 * say).
 */
export type Action<Args extends unknown[], Opts extends OptionValues> = (
  ctx: Context,
  args: Args,
  opts: Opts,
  command: CommandUnknownOpts,
) => Promise<number | void>;

/**
 * A command that does something: the global options (hidden; `berth --help`
 * shows them) and `--json`. Its own arguments and options come next, then
 * `act` gives it its action, typed by them.
 */
export function leaf(name: string, description: string, prints = true): Command {
  const command = new Command(name).description(description);
  // The global options are read through `context`, never from the action's options: left untyped.
  addGlobalOptions(command, true);
  // Accepted everywhere (scripts may pass it to anything); shown where it changes the output.
  addJsonOption(command, 'print JSON for scripts', !prints);
  return command;
}

/** `command`'s action: `action` gets the arguments and options its definition declares. */
export function act<
  Args extends unknown[],
  Opts extends OptionValues,
  Globals extends OptionValues,
>(command: Command<Args, Opts, Globals>, action: Action<Args, Opts>): Command<Args, Opts, Globals> {
  return command.action(async (...received) => {
    // commander passes the arguments, then the options, then the command itself.
    const self = received[received.length - 1] as CommandUnknownOpts;
    const opts = received[received.length - 2] as Opts;
    const status = await action(context(self), received.slice(0, -2) as Args, opts, self);
    if (typeof status === 'number') process.exitCode = status;
  });
}

/** The "Examples:" section of a command's help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}
