/**
 * CNI on this machine's plugins (Debian's containernetworking-plugins):
 * bridge + host-local + portmap, and loopback, in a network namespace made
 * for the test. ADD gives the pod an address that answers ping, CHECK
 * passes, DEL removes the veth, the address allocation, the port mapping's
 * rules and the cached result, and is idempotent; a failed ADD is undone;
 * bad input is refused with typed errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../support/busybox.js';
import {
  CniNetwork,
  DEFAULT_CNI_PLUGIN_DIRS,
  loadDefaultNetwork,
  parseNetworkConfig,
  podIp,
  type CniNetworkList,
} from '../../src/cri/cni.js';

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const pluginsThere = DEFAULT_CNI_PLUGIN_DIRS.some((dir) => existsSync(join(dir, 'bridge')));
const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !pluginsThere
      ? 'CNI plugins not installed (containernetworking-plugins)'
      : false;
if (skip) console.log(`# cri-cni: skipped: ${skip}`);

const id = `cni${process.pid}`;
const netnsName = `berth-${id}`;
const netns = `/var/run/netns/${netnsName}`;
const bridge = `bb${process.pid % 1_000_000}`;
const octet = 100 + (process.pid % 150);
const subnet = `10.213.${octet}.0/24`;
const base = tempDir('berth-cni-');
const ipamDir = join(base, 'ipam');
const cacheDir = join(base, 'cache');
const confDir = join(base, 'net.d');
const networkName = `berth-test-${id}`;

const conflist: CniNetworkList = parseNetworkConfig(
  JSON.stringify({
    cniVersion: '1.0.0',
    name: networkName,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }),
  'test',
);
const loopbackList = parseNetworkConfig(
  JSON.stringify({ cniVersion: '1.0.0', name: 'cni-loopback', plugins: [{ type: 'loopback' }] }),
  'loopback',
);

function bridgePorts(): string[] {
  try {
    return run('ip', ['-o', 'link', 'show', 'master', bridge]).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function allocations(): string[] {
  const dir = join(ipamDir, networkName);
  return existsSync(dir)
    ? readdirSync(dir).filter((name) => /^\d+\.\d+\.\d+\.\d+$/.test(name))
    : [];
}

/** portmap's shared chains, which outlive every pod (all CNI runtimes leave them): removed if this test made them. */
const HOSTPORT_CHAINS = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'];
const HOSTPORT_JUMPS = [
  ['PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT'],
  ['OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT'],
  [
    'POSTROUTING',
    '-m',
    'comment',
    '--comment',
    'CNI portfwd requiring masquerade',
    '-j',
    'CNI-HOSTPORT-MASQ',
  ],
];
let hostportChainsBefore = true;

function removeHostportChains(): void {
  for (const jump of HOSTPORT_JUMPS) {
    try {
      run('iptables', ['-t', 'nat', '-D', ...jump]);
    } catch {
      // Not there.
    }
  }
  for (const chain of HOSTPORT_CHAINS) {
    for (const op of ['-F', '-X']) {
      try {
        run('iptables', ['-t', 'nat', op, chain]);
      } catch {
        // Not there.
      }
    }
  }
}

before(() => {
  if (skip) return;
  hostportChainsBefore = run('iptables', ['-t', 'nat', '-S']).includes('-N CNI-HOSTPORT-DNAT');
  run('ip', ['netns', 'add', netnsName]);
});

after(() => {
  if (!skip) {
    try {
      run('ip', ['link', 'del', bridge]);
    } catch {
      // Never made.
    }
    run('ip', ['netns', 'del', netnsName]);
    if (!hostportChainsBefore) removeHostportChains();
  }
  rmSync(base, { recursive: true, force: true });
});

test(
  'ADD, CHECK, DEL on bridge + host-local + portmap and loopback; nothing left',
  { skip },
  async () => {
    mkdirSync(confDir);
    writeFileSync(join(confDir, '10-test.conflist'), JSON.stringify(conflist));
    writeFileSync(
      join(confDir, '99-other.conf'),
      JSON.stringify({ ...loopbackList, name: 'other' }),
    );
    const loaded = await loadDefaultNetwork(confDir);
    assert.equal(loaded.name, networkName, 'the first configuration by name');

    const network = new CniNetwork(loaded, { cacheDir });
    const loopback = new CniNetwork(loopbackList, { cacheDir });
    const pod = {
      containerId: id,
      netns,
      ifName: 'eth0',
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'test' },
      capabilityArgs: {
        portMappings: [
          { hostPort: 30000 + (process.pid % 20000), containerPort: 80, protocol: 'tcp' as const },
        ],
      },
    };
    await loopback.add({ containerId: id, netns, ifName: 'lo' });
    let result;
    try {
      result = await network.add(pod);
    } catch (err) {
      await loopback.del({ containerId: id, netns, ifName: 'lo' });
      throw err;
    }
    try {
      const ip = podIp(result);
      assert.ok(ip?.startsWith(`10.213.${octet}.`), `address ${ip} in ${subnet}`);
      assert.match(
        run('ip', ['netns', 'exec', netnsName, 'ip', '-4', 'addr', 'show', 'eth0']),
        new RegExp(`inet ${ip!.replace(/\./g, '\\.')}/24`),
      );
      assert.match(run('ip', ['netns', 'exec', netnsName, 'ip', 'link', 'show', 'lo']), /UP/);
      run('busybox', ['ping', '-c', '1', '-W', '2', ip!]);
      assert.equal(bridgePorts().length, 1, 'one veth on the bridge');
      assert.deepEqual(allocations(), [ip]);
      assert.match(run('iptables', ['-t', 'nat', '-S']), new RegExp(id));

      // portmap 1.1.1's CHECK looks for an IPv6 chain it never makes for an IPv4-only pod (fixed
      // upstream later): CHECK is asked of the bridge (and its IPAM) here, on the same ADD result.
      await new CniNetwork({ ...loaded, plugins: [loaded.plugins[0]!] }, { cacheDir }).check(pod);
    } finally {
      await network.del(pod);
      await loopback.del({ containerId: id, netns, ifName: 'lo' });
    }
    assert.deepEqual(bridgePorts(), [], 'the veth is gone');
    assert.deepEqual(allocations(), [], 'the address is free');
    assert.doesNotMatch(
      run('iptables', ['-t', 'nat', '-S']),
      new RegExp(id),
      'the port mapping is gone',
    );
    assert.doesNotMatch(run('ip', ['netns', 'exec', netnsName, 'ip', 'link']), /eth0/);
    assert.deepEqual(readdirSync(cacheDir), [], 'no cached result');
    assert.equal(existsSync(join('/var/lib/cni/networks', networkName)), false);

    // Idempotent: again, and on a namespace already gone.
    await network.del(pod);
    await network.del({ ...pod, netns: '/var/run/netns/berth-never-made' });
    await assert.rejects(network.check(pod), { code: 'ERR_CNI_PLUGIN' });
  },
);

test('a failed ADD is undone; bad input is refused', { skip }, async () => {
  const broken = new CniNetwork(
    parseNetworkConfig(
      JSON.stringify({ ...conflist, plugins: [conflist.plugins[0], { type: 'no-such-plugin' }] }),
      'broken',
    ),
    { cacheDir },
  );
  await assert.rejects(broken.add({ containerId: id, netns }), {
    code: 'ERR_CNI_PLUGIN_NOT_FOUND',
  });
  assert.deepEqual(bridgePorts(), [], 'the bridge plugin’s veth was removed');
  assert.deepEqual(allocations(), []);

  const network = new CniNetwork(conflist, { cacheDir });
  await assert.rejects(network.add({ containerId: '../x', netns }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  await assert.rejects(network.add({ containerId: id, netns, ifName: 'much-too-long-name' }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  await assert.rejects(network.add({ containerId: id, netns: 'relative' }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.throws(
    () =>
      parseNetworkConfig('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../bin/sh"}]}', 'x'),
    {
      code: 'ERR_CNI_CONFIG',
    },
  );
  assert.throws(() => parseNetworkConfig('{"name":"n","type":"bridge"}', 'x'), {
    code: 'ERR_CNI_CONFIG',
  });
  await assert.rejects(loadDefaultNetwork(join(base, 'missing')), { code: 'ERR_CNI_CONFIG' });
  assert.deepEqual(bridgePorts(), []);
  assert.deepEqual(allocations(), []);
});
