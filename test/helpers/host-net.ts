/** The host's network as the CNI tests see it: commands run for their output, a bridge's ports. */
import { execFileSync } from 'node:child_process';

/** Runs a command for its standard output; throws on a non-zero exit. */
export function run(argv: string[]): string {
  const [command, ...args] = argv as [string, ...string[]];
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Interfaces enslaved to `bridge` (the host ends of veth pairs); none when it does not exist (yet). */
export function bridgePorts(bridge: string): string[] {
  try {
    return run(['ip', '-o', 'link', 'show', 'master', bridge]).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
