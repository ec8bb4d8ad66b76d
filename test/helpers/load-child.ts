/**
 * A second, fresh supervisor: loads every container under a root and prints
 * what it sees as JSON, then lets go without touching the containers.
 * Usage: node load-child.js ROOT
 */
import { Container } from '../../src/index.js';

const root = process.argv[2];
if (!root) throw new Error('usage: load-child ROOT');
const { containers, errors } = await Container.loadAll(root);
if (errors.length) throw new Error(`broken containers: ${errors.map((e) => e.id).join(', ')}`);
const seen = containers.map((container) => ({
  id: container.id,
  state: container.state(),
  processes: container.processes().map((p) => {
    let exitStatus: number | null = null;
    try {
      exitStatus = p.exitStatus();
    } catch {
      // Still running.
    }
    return { id: p.id, state: p.state(), pid: p.systemPid, exitStatus };
  }),
}));
for (const container of containers) container.close();
process.stdout.write(JSON.stringify(seen));
