/**
 * A containerd v0.2.8 client's bundle on today's runc: refused or misread as
 * written, run as meant through a shadow bundle, the client's files untouched.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  cpSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { Container, RuntimeError } from '../../src/index.js';
import {
  prepareBundle,
  removeShadowBundle,
  shadowBundleDir,
} from '../../src/supervisor/shadow-bundle.js';
import { bundleConfig, ensureRootfs } from '../../support/busybox.js';
import { assertNothingLeft, readAll, sandbox, uniqueId, type Sandbox } from '../helpers/env.js';

const BIG = '18446744073709551615';
// CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29).
const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const CAP_MASK = '0000000020000420';
const SCRIPT = [
  'echo ok',
  'mkdir /tmp/x 2>/dev/null && echo mkdir allowed || echo mkdir refused',
  'ulimit -c',
  'grep ^Cap /proc/self/status',
].join('; ');

const box: Sandbox = sandbox();
/** Every container made here, for the final sweep should a test fail half-way. */
const ids: string[] = [];
after(async () => {
  for (const id of ids) {
    await Container.load(box.root, id)
      .then((container) => container.delete({ force: true }))
      .catch(() => {});
    removeShadowBundle(shadowBundleDir(box.root, id));
  }
  await box.cleanup();
});

interface LegacyForms {
  /** process.capabilities as a flat list (else the 1.0 object). */
  flatCapabilities?: boolean;
  /** Seccomp rules with one `name` each (else `names`). */
  ruleName?: boolean;
  /** The swappiness text as written. */
  swappiness?: string;
}

/**
 * A ctr-style bundle (config.json beside its own rootfs/, root.path
 * relative) in the forms a v0.2.8-era client writes. Numbers are written as
 * text, as Go writes them.
 */
function legacyBundle(name: string, forms: LegacyForms = {}): string {
  const { flatCapabilities = true, ruleName = true, swappiness = BIG } = forms;
  const dir = join(box.base, name);
  mkdirSync(dir);
  cpSync(ensureRootfs(), join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  const config = bundleConfig({ args: ['sh', '-c', SCRIPT] }) as {
    process: Record<string, unknown>;
    root: Record<string, unknown>;
    linux: { resources: Record<string, unknown>; [field: string]: unknown };
  };
  config.process.capabilities = flatCapabilities
    ? CAPS
    : { bounding: CAPS, effective: CAPS, inheritable: CAPS, permitted: CAPS };
  config.process.rlimits = [
    { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
    { type: 'RLIMIT_CORE', hard: '@BIG@', soft: '@BIG@' },
  ];
  config.root = { path: 'rootfs', readonly: true };
  config.linux.resources.memory = { swappiness: '@SWAPPINESS@' };
  config.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: ['mkdir', 'mkdirat'].map((syscall) => ({
      ...(ruleName ? { name: syscall } : { names: [syscall] }),
      action: 'SCMP_ACT_ERRNO',
    })),
  };
  const text = JSON.stringify(config, null, '\t')
    .replaceAll('"@BIG@"', BIG)
    .replace('"@SWAPPINESS@"', swappiness);
  writeFileSync(join(dir, 'config.json'), text);
  return dir;
}

/** Every file under `dir` with its content's hash (symlinks: their target). */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (path: string) => {
    const stat = lstatSync(path);
    const key = relative(dir, path) || '.';
    if (stat.isSymbolicLink()) files.set(key, `-> ${readlinkSync(path)}`);
    else if (stat.isDirectory()) {
      files.set(key, `dir ${stat.mode.toString(8)}`);
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else {
      const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
      files.set(key, `${stat.mode.toString(8)} ${stat.mtimeMs} ${hash}`);
    }
  };
  walk(dir);
  return files;
}

async function create(bundle: string, id = uniqueId('legacy')): Promise<Container> {
  ids.push(id);
  return Container.create({ root: box.root, id, bundle });
}

async function runToExit(container: Container): Promise<{ status: number; stdout: string }> {
  const init = await container.run({ stdio: { stdout: 'pipe' } });
  const stdout = readAll(init.stdout);
  const status = await init.wait();
  return { status, stdout: await stdout };
}

function capLines(mask: string): string {
  return ['Inh', 'Prm', 'Eff', 'Bnd'].map((set) => `Cap${set}:\t${mask}\n`).join('');
}

describe("a v0.2.8 client's bundle as written", () => {
  test('runc refuses the flat capability list', async () => {
    const bundle = legacyBundle('as-written');
    const before = snapshot(bundle);
    const container = await create(bundle);
    await assert.rejects(
      container.run(),
      (err: unknown) =>
        err instanceof RuntimeError &&
        /json: cannot unmarshal array into Go struct field Process\.process\.capabilities of type specs\.LinuxCapabilities/.test(
          err.message,
        ),
    );
    await container.delete({ force: true });
    assert.deepEqual(snapshot(bundle), before);
  });

  test('runc drops a seccomp rule with "name": the syscall it should refuse is allowed', async () => {
    const container = await create(legacyBundle('rule-name', { flatCapabilities: false }));
    const { status, stdout } = await runToExit(container);
    assert.equal(status, 0);
    assert.match(stdout, /^ok\nmkdir allowed\n/);
    await container.delete();
  });

  test('swappiness through a double (18446744073709552000): runc refuses it', async () => {
    const lossy = JSON.stringify(JSON.parse(BIG));
    assert.equal(lossy, '18446744073709552000');
    const bundle = legacyBundle('lossy', {
      flatCapabilities: false,
      ruleName: false,
      swappiness: lossy,
    });
    const container = await create(bundle);
    await assert.rejects(
      container.run(),
      (err: unknown) =>
        err instanceof RuntimeError &&
        /cannot unmarshal number 18446744073709552000 into Go struct field LinuxMemory\.linux\.resources\.memory\.swappiness of type uint64/.test(
          err.message,
        ),
    );
    await container.delete({ force: true });
  });
});

describe('through a shadow bundle', () => {
  test('runs as the client meant, and leaves its files as they were', async () => {
    const bundle = legacyBundle('shadowed');
    const configText = readFileSync(join(bundle, 'config.json'), 'utf8');
    const before = snapshot(bundle);
    const id = uniqueId('legacy');
    const shadow = shadowBundleDir(box.root, id);

    const prepared = prepareBundle(bundle, shadow);
    assert.equal(prepared.path, shadow);
    assert.deepEqual(prepared.changes, [
      'process.capabilities: flat list of 3 → bounding, effective, inheritable, permitted',
      'linux.seccomp.syscalls: 2 rule(s) with "name" → "names": [name]',
      `linux.resources.memory.swappiness: ${BIG} (not set) removed`,
      `root.path: "rootfs" → "${join(bundle, 'rootfs')}"`,
    ]);
    const shadowText = readFileSync(join(shadow, 'config.json'), 'utf8');
    assert.equal(shadowText.match(/18446744073709551615/g)?.length, 2, 'the rlimits, exactly');

    const container = await create(prepared.path, id);
    const { status, stdout } = await runToExit(container);
    assert.equal(status, 0);
    assert.equal(
      stdout,
      // The seccomp rule holds, the uint64 rlimit arrived whole, the flat list
      // is in the four sets it meant (bounding, permitted, effective,
      // inheritable), and there are no ambient capabilities.
      `ok\nmkdir refused\nunlimited\n${capLines(CAP_MASK)}CapAmb:\t0000000000000000\n`,
    );
    await container.delete();
    removeShadowBundle(shadow);

    assert.equal(readFileSync(join(bundle, 'config.json'), 'utf8'), configText);
    assert.deepEqual(snapshot(bundle), before);
    assertNothingLeft(box.root, [id]);
  });
});
