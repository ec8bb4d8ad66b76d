/** What every command shares: the global options, `--json`, the action wrapper, example texts. */
import { Command, type OptionValues } from 'commander';
import { addGlobalOptions, addJsonOption, context, type Context } from '../context.js';

/**
 * An action: the context, the positional arguments, the options. A number
 * returned is the exit status (an attached process's own, say).
 */
export type Action<Args extends unknown[]> = (
  ctx: Context,
  args: Args,
  opts: OptionValues,
) => Promise<number | void>;

/**
 * A command that does something: the global options (hidden; `berth --help`
 * shows them), `--json`, and its action.
 */
export function leaf<Args extends unknown[]>(
  name: string,
  description: string,
  action: Action<Args>,
  prints = true,
): Command {
  const command = new Command(name).description(description);
  addGlobalOptions(command, true);
  // Accepted everywhere (scripts may pass it to anything); shown where it changes the output.
  addJsonOption(command, 'print JSON for scripts', !prints);
  command.action(async (...received: unknown[]) => {
    const self = received[received.length - 1] as Command;
    const opts = received[received.length - 2] as OptionValues;
    const status = await action(context(self), received.slice(0, -2) as Args, opts);
    if (typeof status === 'number') process.exitCode = status;
  });
  return command;
}

/** The "Examples:" section of a command's help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}
