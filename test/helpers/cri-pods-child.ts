/**
 * A berthd's CRI pod service in a process of its own, for tests that kill it
 * with SIGKILL: a supervisor, pod networking and PodSandboxes over the dirs
 * given as JSON, served on a CRI socket; prints "ready" and serves until
 * killed.
 * Usage: node cri-pods-child.js '{"supervisorDir":...,"criDir":...,"netnsDir":...,
 *   "confDir":...,"storeRoot":...,"socket":...,"sandboxImage":...,"sandboxCommand":[...]}'
 */
import { join } from 'node:path';
import { ImageStore } from '../../src/images/index.js';
import { CniNetwork } from '../../src/cri/cni.js';
import { NetnsStore } from '../../src/cri/netns.js';
import { PodNetworks } from '../../src/cri/pod-network.js';
import { PodSandboxes } from '../../src/cri/pods.js';
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
const pods = new PodSandboxes({
  supervisor,
  images: await ImageStore.open({ root: config.storeRoot }),
  stateDir: config.criDir,
  networks: new PodNetworks(
    new NetnsStore(config.netnsDir),
    new CniNetwork({ stateDir: join(config.criDir, 'cni'), confDir: config.confDir }),
  ),
  sandboxImage: config.sandboxImage,
  sandboxCommand: config.sandboxCommand,
});
await CriServer.listen(`unix://${config.socket}`, { cniConfDir: config.confDir, pods });
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
