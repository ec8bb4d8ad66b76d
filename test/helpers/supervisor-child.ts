/**
 * A supervisor in a process of its own, for tests that kill it: opens the
 * state dir, creates one container per `ID=BUNDLE` argument, prints "ready"
 * and waits to be killed.
 * Usage: node supervisor-child.js STATE_DIR ID=BUNDLE...
 */
import { Supervisor } from '../../src/supervisor/supervisor.js';

const [stateDir, ...specs] = process.argv.slice(2);
if (!stateDir) throw new Error('usage: supervisor-child STATE_DIR ID=BUNDLE...');
const supervisor = await Supervisor.open({ stateDir });
// All at once, as a busy daemon would: a kill lands in the middle of several creates.
await Promise.all(
  specs.map((spec) => {
    const [id, bundle] = spec.split('=') as [string, string];
    return supervisor.createContainer({ id, bundlePath: bundle });
  }),
);
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
