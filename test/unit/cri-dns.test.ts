/**
 * A pod's resolv.conf, hostname and hosts files: containerd's resolv.conf
 * layout from a DNSConfig, the host's file when the config is empty, every
 * bad input refused with a typed error before anything is written; and the
 * CNI configuration and result readers (no plugin runs here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../support/busybox.js';
import { InvalidArgumentError } from '../../src/runtime/index.js';
import {
  hostnameFile,
  hostsFile,
  resolvConf,
  resolvConfFromDns,
  writePodFiles,
} from '../../src/cri/pod-files.js';
import { loadNetworkList, parseNetworkList, versionAtLeast } from '../../src/cri/cni-config.js';
import { podIps, readResult } from '../../src/cri/cni-result.js';
import { CniConfigError } from '../../src/cri/network-errors.js';

test('resolv.conf from a DNSConfig: search, nameservers, options, in that order', () => {
  assert.equal(
    resolvConfFromDns({
      servers: ['10.96.0.10', 'fd00::a'],
      searches: ['default.svc.cluster.local', 'svc.cluster.local'],
      options: ['ndots:5', 'edns0'],
    }),
    'search default.svc.cluster.local svc.cluster.local\n' +
      'nameserver 10.96.0.10\nnameserver fd00::a\n' +
      'options ndots:5 edns0\n',
  );
  assert.equal(resolvConfFromDns({ servers: ['1.1.1.1'] }), 'nameserver 1.1.1.1\n');
  assert.equal(resolvConfFromDns({ servers: [], searches: [], options: [] }), undefined);
  assert.equal(resolvConfFromDns(undefined), undefined);
});

test('an empty DNSConfig means the host’s resolv.conf; a host without one gives an empty file', async () => {
  const dir = tempDir();
  try {
    const host = join(dir, 'host-resolv.conf');
    writeFileSync(host, 'nameserver 192.0.2.53\nsearch example.org\n');
    assert.equal(await resolvConf({}, host), 'nameserver 192.0.2.53\nsearch example.org\n');
    assert.equal(await resolvConf(undefined, host), 'nameserver 192.0.2.53\nsearch example.org\n');
    assert.equal(await resolvConf({ servers: ['10.0.0.1'] }, host), 'nameserver 10.0.0.1\n');
    assert.equal(await resolvConf({}, join(dir, 'none')), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Bad DNS input is refused: not an IP, whitespace or a comment smuggled into a word.
for (const dns of [
  { servers: ['dns.example.org'] },
  { servers: ['10.0.0.1\nnameserver 6.6.6.6'] },
  { searches: ['a b'] },
  { searches: ['ok\nnameserver 6.6.6.6'] },
  { searches: [''] },
  { options: ['ndots:5 # x'] },
  { options: ['x'.repeat(300)] },
])
  test(`bad DNS input ${JSON.stringify(dns).slice(0, 60)} is refused`, () => {
    assert.throws(
      () => resolvConfFromDns(dns),
      (err: unknown) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT',
      JSON.stringify(dns),
    );
  });

test('hostname and hosts files; a bad address refused', () => {
  assert.equal(hostnameFile('web-0'), 'web-0\n');
  const hosts = hostsFile('web-0', ['10.213.0.5', 'fd00::5']);
  assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(hosts, /^::1\tlocalhost ip6-localhost ip6-loopback$/m);
  assert.match(hosts, /^10\.213\.0\.5\tweb-0$/m);
  assert.match(hosts, /^fd00::5\tweb-0$/m);
  assert.doesNotMatch(hostsFile('web-0'), /web-0/);
  assert.throws(() => hostsFile('web-0', ['10.0.0.1\n6.6.6.6 evil']), InvalidArgumentError);
});

for (const bad of ['', '-a', 'a-', 'a b', 'a/b', 'x'.repeat(65), 'a\nb', 'a..b'])
  test(`hostname ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 20)}…` : bad)} is refused`, () => {
    assert.throws(() => hostnameFile(bad), InvalidArgumentError, JSON.stringify(bad));
  });

test('writePodFiles: three files readable by all; a bad input writes none', async () => {
  const dir = tempDir();
  try {
    const pod = join(dir, 'pod');
    const files = await writePodFiles(pod, {
      hostname: 'web-0',
      dns: { servers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: ['ndots:5'] },
      ips: ['10.213.0.5'],
    });
    assert.equal(
      readFileSync(files.resolvConf, 'utf8'),
      'search svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    assert.equal(readFileSync(files.hostname, 'utf8'), 'web-0\n');
    assert.match(readFileSync(files.hosts, 'utf8'), /^10\.213\.0\.5\tweb-0$/m);
    for (const path of Object.values(files)) assert.equal(statSync(path).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(pod).sort(), ['hostname', 'hosts', 'resolv.conf']);

    const other = join(dir, 'other');
    await assert.rejects(
      writePodFiles(other, { hostname: 'ok', dns: { servers: ['nope'] } }),
      InvalidArgumentError,
    );
    await assert.rejects(writePodFiles(other, { hostname: 'bad host' }), InvalidArgumentError);
    assert.equal(existsSync(other), false, 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CNI configuration: the first file by name; a .conf is a list of one; errors are typed', async () => {
  const dir = tempDir();
  try {
    await assert.rejects(loadNetworkList(dir), {
      name: 'CniConfigError',
      code: 'ERR_CNI_CONFIG',
      message: `no network config found in ${dir}`,
    });
    writeFileSync(join(dir, 'README'), 'not a config');
    writeFileSync(
      join(dir, '20-b.conflist'),
      JSON.stringify({ cniVersion: '1.0.0', name: 'b', plugins: [{ type: 'bridge' }] }),
    );
    writeFileSync(
      join(dir, '10-a.conf'),
      JSON.stringify({ cniVersion: '0.4.0', name: 'a', type: 'ptp', ipam: { type: 'host-local' } }),
    );
    const list = await loadNetworkList(dir);
    assert.equal(list.name, 'a');
    assert.equal(list.cniVersion, '0.4.0');
    assert.equal(list.source, join(dir, '10-a.conf'));
    assert.deepEqual(
      list.plugins.map((p) => p.type),
      ['ptp'],
    );
    writeFileSync(join(dir, '05-broken.conflist'), '{"name": ');
    await assert.rejects(loadNetworkList(dir), (err: unknown) => {
      assert.ok(err instanceof CniConfigError);
      assert.match(err.message, /05-broken\.conflist: invalid JSON/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(versionAtLeast('1.0.0', '0.4.0'));
  assert.ok(versionAtLeast('0.4.0', '0.4.0'));
  assert.ok(!versionAtLeast('0.3.1', '0.4.0'));
});

// Broken CNI configurations: each a CniConfigError saying why.
for (const [text, why] of [
  ['[]', /not a JSON object/],
  ['{"plugins":[{"type":"bridge"}]}', /no network name/],
  ['{"name":"n","plugins":[]}', /no plugins/],
  ['{"name":"n","plugins":[{"type":"../../bin/sh"}]}', /invalid plugin type/],
  ['{"name":"n","plugins":[{"type":".."}]}', /invalid plugin type/],
  ['{"name":"n","plugins":[{}]}', /invalid plugin type/],
  ['{"name":"n","cniVersion":"one","plugins":[{"type":"x"}]}', /invalid cniVersion/],
] as const)
  test(`CNI configuration ${text}: ${String(why)}`, () => {
    assert.throws(() => parseNetworkList(text, 'x.conflist'), {
      code: 'ERR_CNI_CONFIG',
      message: why,
    });
  });

test('CNI results: 1.0 and 0.2 shapes, pod IPs from sandbox interfaces, IPv4 first', () => {
  const result = readResult({
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'br0', mac: 'aa:aa:aa:aa:aa:aa' },
      { name: 'veth1', mac: 'bb:bb:bb:bb:bb:bb' },
      { name: 'eth0', mac: 'cc:cc:cc:cc:cc:cc', sandbox: '/run/berth/netns/p' },
    ],
    ips: [
      { address: 'fd00::5/64', gateway: 'fd00::1', interface: 2 },
      { address: '10.213.0.5/24', gateway: '10.213.0.1', interface: 2 },
      { address: '10.213.0.1/24', interface: 0 },
    ],
    dns: { nameservers: ['10.96.0.10'], search: ['cluster.local'] },
  });
  assert.deepEqual(podIps(result), ['10.213.0.5', 'fd00::5']);
  assert.deepEqual(result.dns, {
    nameservers: ['10.96.0.10'],
    search: ['cluster.local'],
    options: [],
  });
  assert.equal(result.interfaces[2]?.sandbox, '/run/berth/netns/p');
  const old = readResult({ cniVersion: '0.2.0', ip4: { ip: '10.1.0.2/16', gateway: '10.1.0.1' } });
  assert.deepEqual(old.ips, [{ address: '10.1.0.2/16', gateway: '10.1.0.1' }]);
  assert.deepEqual(podIps(old), ['10.1.0.2']);
  assert.deepEqual(podIps(readResult(undefined)), []);
});
