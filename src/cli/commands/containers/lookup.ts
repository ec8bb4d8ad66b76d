/** One container of berthd's, by id: what `state`, `exec -e` and `watch ID` start from. */
import type { Container } from '../../../api/generated/berth.js';
import type { BerthClient } from '../../client.js';
import { CliError } from '../../errors.js';

export async function oneContainer(client: BerthClient, id: string): Promise<Container> {
  const { containers } = await client.state(id);
  const found = containers.find((c) => c.id === id);
  if (!found) throw new CliError(`container ${id} not found`, 'NOT_FOUND');
  return found;
}
