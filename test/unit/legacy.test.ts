/** Old clients' config.json forms converted for today's runc, every number kept as written. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LosslessNumber, isLosslessNumber, parse, stringify } from 'lossless-json';
import { InvalidBundleConfigError } from '../../src/index.js';
import { capabilitiesFromFlat, convertBundleConfig } from '../../src/supervisor/legacy.js';

function fixture(name: string): string {
  const url = new URL(`../../../test/fixtures/legacy/${name}/config.json`, import.meta.url);
  return readFileSync(fileURLToPath(url), 'utf8');
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function parseLossless(text: string): Json {
  return parse(text) as Json;
}

/** Every number in the text, as written, in document order. */
function numberTokens(text: string): string[] {
  const tokens: string[] = [];
  parse(text, null, (value) => {
    tokens.push(value);
    return new LosslessNumber(value);
  });
  return tokens;
}

function convert(text: string, bundleDir?: string): { text: string; changes: string[] } {
  const result = convertBundleConfig(text, bundleDir);
  assert.ok(result, 'a conversion was expected');
  return result;
}

const BIG = '18446744073709551615';
const docker = fixture('docker-17.05');

describe('convertBundleConfig: a Docker 17.05 bundle', () => {
  const bundleDir = '/var/lib/berth-test/bundles/web';
  const { text, changes } = convert(docker, bundleDir);
  const before = parseLossless(docker);
  const after = parseLossless(text);

  test('the flat capability list → bounding, effective, inheritable, permitted; no ambient', () => {
    const flat = before.process.capabilities as string[];
    assert.equal(flat.length, 14);
    assert.deepEqual(after.process.capabilities, {
      bounding: flat,
      effective: flat,
      inheritable: flat,
      permitted: flat,
    });
  });

  test('each seccomp rule with "name" → "names": [name], its action and args kept', () => {
    const rules = before.linux.seccomp.syscalls as Json[];
    const converted = after.linux.seccomp.syscalls as Json[];
    assert.equal(converted.length, rules.length);
    converted.forEach((rule, i) => {
      const { name, ...rest } = rules[i]!;
      assert.deepEqual(rule, { ...rest, names: [name] });
      assert.equal('name' in rule, false);
    });
    assert.equal(after.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO');
  });

  test('swappiness 18446744073709551615 (not set) is left out', () => {
    assert.equal(before.linux.resources.memory.swappiness.value, BIG);
    assert.deepEqual(after.linux.resources.memory, {});
  });

  test('root.path is made absolute against the client bundle; absolute bind sources stay', () => {
    assert.equal(after.root.path, `${bundleDir}/rootfs`);
    assert.deepEqual(after.mounts, before.mounts);
  });

  test('nothing else changes', () => {
    const expected = parseLossless(docker);
    const caps = expected.process.capabilities as string[];
    expected.process.capabilities = capabilitiesFromFlat(caps);
    for (const rule of expected.linux.seccomp.syscalls as Json[]) {
      rule.names = [rule.name];
      delete rule.name;
    }
    delete expected.linux.resources.memory.swappiness;
    expected.root.path = `${bundleDir}/rootfs`;
    assert.equal(stringify(after), stringify(expected));
  });

  test('every number keeps its exact text; only the swappiness is gone', () => {
    const tokens = numberTokens(docker);
    const swappiness = tokens.lastIndexOf(BIG);
    tokens.splice(swappiness, 1);
    assert.deepEqual(numberTokens(text), tokens);
    const rlimits = after.process.rlimits as Json[];
    assert.deepEqual(
      rlimits.map((r) => [r.type, String(r.hard), String(r.soft)]),
      [
        ['RLIMIT_CORE', BIG, BIG],
        ['RLIMIT_MEMLOCK', BIG, '65536'],
        ['RLIMIT_NOFILE', '1048576', '1048576'],
      ],
    );
    assert.ok(rlimits.every((r) => isLosslessNumber(r.hard) && isLosslessNumber(r.soft)));
    // As text: Go reads these digits, never 18446744073709552000.
    assert.equal(text.match(/18446744073709551615/g)?.length, 3);
    assert.doesNotMatch(text, /18446744073709552000|e\+19/i);
  });

  test('the changes name each conversion', () => {
    assert.deepEqual(changes, [
      'process.capabilities: flat list of 14 → bounding, effective, inheritable, permitted',
      'linux.seccomp.syscalls: 8 rule(s) with "name" → "names": [name]',
      `linux.resources.memory.swappiness: ${BIG} (not set) removed`,
      `root.path: "rootfs" → "${bundleDir}/rootfs"`,
    ]);
  });

  test('idempotent: the output needs nothing more', () => {
    assert.equal(convertBundleConfig(text), undefined);
    assert.equal(convertBundleConfig(text, '/elsewhere'), undefined);
  });

  test('without a bundle folder, root.path is kept as written', () => {
    const converted = parseLossless(convert(docker).text);
    assert.equal(converted.root.path, 'rootfs');
  });
});

describe('convertBundleConfig: what needs nothing', () => {
  test('an OCI 1.0 config → undefined, even with a relative root.path and bind source', () => {
    const text = fixture('oci-1.0');
    assert.equal(convertBundleConfig(text), undefined);
    assert.equal(convertBundleConfig(text, '/srv/bundle'), undefined);
  });

  // Swappiness from 0 to 100 is kept.
  for (const value of ['0', '60', '100'])
    test(`swappiness ${value} is kept`, () => {
      const text = `{"process":{"args":["true"]},"linux":{"resources":{"memory":{"swappiness":${value}}}}}`;
      assert.equal(convertBundleConfig(text), undefined, value);
    });

  test('no capabilities, no seccomp, no resources at all', () => {
    assert.equal(convertBundleConfig('{"process":{"args":["true"]}}'), undefined);
  });
});

describe('convertBundleConfig: each form alone', () => {
  const withMemory = (swappiness: string) =>
    `{"process":{"args":["true"]},"linux":{"resources":{"memory":{"limit":9223372036854771712,"swappiness":${swappiness}}}}}`;

  // Swappiness outside 0–100 means not set: uint64 −1, signed −1, 101.
  for (const value of [BIG, '-1', '101'])
    test(`swappiness ${value} means not set`, () => {
      const { text, changes } = convert(withMemory(value));
      assert.equal(text.replace(/\s/g, ''), withMemory('').replace(',"swappiness":', ''));
      assert.deepEqual(changes, [`linux.resources.memory.swappiness: ${value} (not set) removed`]);
    });

  test('an empty flat capability list drops every capability', () => {
    const { text } = convert('{"process":{"args":["true"],"capabilities":[]}}');
    assert.deepEqual(parseLossless(text).process.capabilities, {
      bounding: [],
      effective: [],
      inheritable: [],
      permitted: [],
    });
  });

  test('a seccomp rule with both "name" and "names" keeps both syscalls', () => {
    const { text } = convert(
      '{"process":{"args":["true"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[' +
        '{"name":"mkdir","names":["mkdirat"],"action":"SCMP_ACT_ERRNO"},' +
        '{"name":"rmdir","names":["rmdir"],"action":"SCMP_ACT_ERRNO"},' +
        '{"names":["unlink"],"action":"SCMP_ACT_ERRNO"}]}}}',
    );
    assert.deepEqual(
      (parseLossless(text).linux.seccomp.syscalls as Json[]).map((rule) => rule.names),
      [['mkdirat', 'mkdir'], ['rmdir'], ['unlink']],
    );
  });

  test('relative bind-mount sources are made absolute; other mounts are not', () => {
    const { text, changes } = convert(
      JSON.stringify({
        process: { args: ['true'], capabilities: ['CAP_KILL'] },
        root: { path: '/already/absolute' },
        mounts: [
          { destination: '/proc', type: 'proc', source: 'proc' },
          { destination: '/a', type: 'bind', source: 'a' },
          { destination: '/b', type: 'none', source: '../b', options: ['rbind', 'ro'] },
          { destination: '/c', source: './c', options: ['bind'] },
          { destination: '/d', type: 'bind', source: '/d' },
        ],
      }),
      '/srv/bundle',
    );
    assert.deepEqual(
      (parseLossless(text).mounts as Json[]).map((m) => m.source),
      ['proc', '/srv/bundle/a', '/srv/b', '/srv/bundle/c', '/d'],
    );
    assert.deepEqual(changes.slice(1), [
      'mounts[1].source: "a" → "/srv/bundle/a"',
      'mounts[2].source: "../b" → "/srv/b"',
      'mounts[3].source: "./c" → "/srv/bundle/c"',
    ]);
  });

  test('a repeated key: the last one wins, as in Go', () => {
    const { text } = convert(
      '{"process":{"args":["false"],"args":["true"],"capabilities":["CAP_KILL"]}}',
    );
    assert.deepEqual(parseLossless(text).process.args, ['true']);
  });
});

describe('convertBundleConfig: refusals', () => {
  for (const [what, text] of [
    ['not JSON', '{"process": '],
    ['not an object', '[1, 2]'],
    [
      'a capability that is not a name',
      '{"process":{"args":["true"],"capabilities":["CAP_KILL", 3]}}',
    ],
    [
      'a seccomp name that is not a string',
      '{"linux":{"seccomp":{"syscalls":[{"name":["mkdir"]}]}}}',
    ],
  ] as const) {
    test(what, () => {
      assert.throws(() => convertBundleConfig(text), InvalidBundleConfigError);
    });
  }
});

describe('capabilitiesFromFlat', () => {
  test('the list in each of the four sets, as separate arrays, no ambient', () => {
    const list = ['CAP_CHOWN', 'CAP_KILL'];
    const caps = capabilitiesFromFlat(list);
    assert.deepEqual(caps, {
      bounding: list,
      effective: list,
      inheritable: list,
      permitted: list,
    });
    assert.equal('ambient' in caps, false);
    caps.bounding.push('CAP_SYS_ADMIN');
    assert.deepEqual(list, ['CAP_CHOWN', 'CAP_KILL']);
    assert.deepEqual(caps.effective, list);
  });

  test('an empty list: no capabilities at all', () => {
    assert.deepEqual(capabilitiesFromFlat([]), {
      bounding: [],
      effective: [],
      inheritable: [],
      permitted: [],
    });
  });
});
