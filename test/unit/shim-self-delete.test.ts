/** When the init's shim may remove runc's container itself after the exit (src/runtime/shim/self-delete.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultBundleConfig } from '../../src/runtime/oci/default-spec.js';
import type { BundleConfig } from '../../src/runtime/oci/spec.js';
import {
  isPlainRuntimeDelete,
  shimMayDeleteRuntimeState,
} from '../../src/runtime/shim/self-delete.js';

function config(change: (config: BundleConfig & { linux: Record<string, unknown> }) => void) {
  const made = defaultBundleConfig('/rootfs') as unknown as BundleConfig & {
    linux: Record<string, unknown>;
  };
  change(made);
  return made;
}

describe("the config's part", () => {
  test('the default config: its own PID namespace, no hooks', () => {
    assert.equal(isPlainRuntimeDelete(config(() => {})), true);
  });

  test('empty or null poststop hooks change nothing', () => {
    assert.equal(isPlainRuntimeDelete(config((c) => (c.hooks = { poststop: [] }))), true);
    assert.equal(isPlainRuntimeDelete(config((c) => (c.hooks = { poststop: null }))), true);
    assert.equal(
      isPlainRuntimeDelete(config((c) => (c.hooks = { prestart: [{ path: '/bin/true' }] }))),
      true,
    );
  });

  const refused: Array<[string, (c: BundleConfig & { linux: Record<string, unknown> }) => void]> = [
    ['a poststop hook', (c) => (c.hooks = { poststop: [{ path: '/bin/true' }] })],
    ['a malformed poststop', (c) => (c.hooks = { poststop: 'x' })],
    ['no PID namespace', (c) => (c.linux.namespaces = [{ type: 'mount' }])],
    [
      'a PID namespace joined by path',
      (c) => (c.linux.namespaces = [{ type: 'pid', path: '/proc/1/ns/pid' }]),
    ],
    ['no namespaces at all', (c) => delete c.linux.namespaces],
    ['an Intel RDT group', (c) => (c.linux.intelRdt = { closID: 'x' })],
    ['no linux section', (c) => delete (c as { linux?: unknown }).linux],
  ];
  for (const [what, change] of refused) {
    test(`not with ${what}`, () => {
      assert.equal(isPlainRuntimeDelete(config(change)), false);
    });
  }
});

describe("the runtime's part", () => {
  test('runc, by name or path, with its root given', () => {
    assert.equal(shimMayDeleteRuntimeState('runc', ['--root', '/r']), true);
    assert.equal(shimMayDeleteRuntimeState('/usr/sbin/runc', ['--root=/r', '--debug']), true);
  });

  const refused: Array<[string, string, string[]]> = [
    ['another runtime', 'crun', ['--root', '/r']],
    ['a wrapper of runc', '/opt/runc-wrapper', ['--root', '/r']],
    ['no root', 'runc', []],
    ['the systemd cgroup driver', 'runc', ['--root', '/r', '--systemd-cgroup']],
  ];
  for (const [what, runtime, args] of refused) {
    test(`not for ${what}`, () => {
      assert.equal(shimMayDeleteRuntimeState(runtime, args), false);
    });
  }
});
