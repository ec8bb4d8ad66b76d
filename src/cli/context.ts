/**
 * What every command's action gets: the global options resolved (from any
 * level of the command line, the environment, the defaults), the output,
 * and a client made on first use.
 */
import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { DEFAULT_ADDRESS } from '../api/address.js';
import { BerthClient, parseAddress, type Address } from './client.js';
import { stdout, type Output } from './output.js';

export const ADDRESS_ENV = 'BERTH_ADDRESS';

export interface Context {
  address: Address;
  json: boolean;
  debug: boolean;
  out: Output;
  /** The gRPC client, made on first use and closed by the CLI at exit. */
  client(): BerthClient;
}

/** The global options, on the program and (hidden) on every command, so they go anywhere. */
export function addGlobalOptions<C extends CommandUnknownOpts>(command: C, hidden: boolean): C {
  const options = [
    new Option(
      '--address <address>',
      `berthd's socket, unix:///path (default: $${ADDRESS_ENV}, else ${DEFAULT_ADDRESS})`,
    ).argParser((value) => parseAddress(value).address),
    new Option('--debug', 'print stack traces of errors'),
  ];
  for (const option of options) command.addOption(hidden ? option.hideHelp() : option);
  return command;
}

/** `--json` for a command that prints. */
export function addJsonOption<C extends CommandUnknownOpts>(
  command: C,
  what = 'print JSON for scripts',
  hidden = false,
): C {
  const option = new Option('--json', what);
  command.addOption(hidden ? option.hideHelp() : option);
  return command;
}

/** The value of `name` given at the deepest level of the command line that has it. */
function fromCommandLine(command: CommandUnknownOpts, name: string): unknown {
  for (let cmd: CommandUnknownOpts | null = command; cmd; cmd = cmd.parent) {
    const value = cmd.getOptionValue(name) as unknown;
    if (value !== undefined) return value;
  }
  return undefined;
}

const clients = new Set<BerthClient>();

/** Closes the clients commands made (the CLI does so before it exits). */
export function closeClients(): void {
  for (const client of clients) client.close();
  clients.clear();
}

export function resolveAddress(command: CommandUnknownOpts, env = process.env): Address {
  const given = fromCommandLine(command, 'address');
  if (typeof given === 'string') return parseAddress(given);
  const fromEnv = env[ADDRESS_ENV];
  return parseAddress(fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_ADDRESS);
}

export function isDebug(command: CommandUnknownOpts): boolean {
  return fromCommandLine(command, 'debug') === true;
}

export function context(command: CommandUnknownOpts, out: Output = stdout): Context {
  const address = resolveAddress(command);
  let client: BerthClient | undefined;
  return {
    address,
    json: fromCommandLine(command, 'json') === true,
    debug: isDebug(command),
    out,
    client() {
      if (!client) {
        client = new BerthClient(address);
        clients.add(client);
      }
      return client;
    },
  };
}
