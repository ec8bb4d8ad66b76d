/**
 * A berthd's CRI pod service in a process of its own, for tests that kill it
 * with SIGKILL: a supervisor, pod networking and PodSandboxes over the dirs
 * given as JSON, served on a CRI socket as berthd serves it; prints "ready" and serves until
 * killed.
 * Usage: node cri-pods-child.js '{"supervisorDir":...,"criDir":...,"netnsDir":...,
 *   "confDir":...,"storeRoot":...,"socket":...,"sandboxImage":...,"sandboxCommand":[...]}'
 */
import { ImageStore } from '../../src/images/index.js';
import { CriServer } from '../../src/cri/server.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';

interface ChildConfig {
  supervisorDir: string;
  criDir: string;
  netnsDir: string;
  confDir: string;
  storeRoot: string;
  socket: string;
  sandboxImage: string;
  sandboxCommand: string[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const supervisor = await Supervisor.open({ stateDir: config.supervisorDir });
// As berthd serves it: the service makes its pods from what it is given.
await CriServer.listen(`unix://${config.socket}`, {
  supervisor,
  store: await ImageStore.open({ root: config.storeRoot }),
  criStateDir: config.criDir,
  cniConfDir: config.confDir,
  netnsDir: config.netnsDir,
  sandboxImage: config.sandboxImage,
  sandboxCommand: config.sandboxCommand,
});
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
