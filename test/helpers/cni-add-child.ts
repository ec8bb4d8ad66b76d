/**
 * A CNI ADD in a process of its own, for the test that kills berthd's stand-in
 * with SIGKILL in the middle of it.
 * Usage: node cni-add-child.js '{"confDir","binDirs","stateDir","containerId","netns"}'
 */
import { CniNetwork } from '../../src/cri/cni.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  confDir: string;
  binDirs: string[];
  stateDir: string;
  containerId: string;
  netns: string;
};
const cni = new CniNetwork({
  confDir: spec.confDir,
  binDirs: spec.binDirs,
  stateDir: spec.stateDir,
});
await cni.add({
  containerId: spec.containerId,
  netns: spec.netns,
  podName: 'killed',
  podNamespace: 'default',
});
process.stdout.write('added\n');
