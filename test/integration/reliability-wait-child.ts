/**
 * A second supervisor in its own Node process: loads one container, says
 * `loaded` on stdout, waits for each of its processes, then prints their exit
 * statuses as JSON ({ "init": 137, ... }) and lets go.
 * Usage: node reliability-wait-child.js ROOT ID
 */
import { Container } from '../../src/index.js';

const [root, id] = process.argv.slice(2);
if (!root || !id) throw new Error('usage: reliability-wait-child ROOT ID');
const container = await Container.load(root, id);
process.stdout.write('loaded\n');
const statuses: Record<string, number> = {};
for (const proc of container.processes()) statuses[proc.id] = await proc.wait();
container.close();
process.stdout.write(`${JSON.stringify(statuses)}\n`);
