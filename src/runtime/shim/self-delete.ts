/**
 * Whether the init's shim may remove the runtime's container itself after the
 * exit (`--self-delete`, shim/src/self_delete.h) instead of running the
 * runtime's `delete`: one Go process fewer per container, about a quarter of
 * the CPU a short container's whole cycle costs.
 *
 * It may when runc's delete of a stopped container would do nothing but
 * remove the cgroups its state records and its state folder: the runtime is
 * runc (the shim reads runc's `<root>/<id>/state.json`, a layout other
 * runtimes do not share), its root is given (`--root`, as the library always
 * passes), the cgroupfs driver (the systemd driver stops a unit over D-Bus),
 * and a config without poststop hooks (runc runs them), with a PID namespace
 * of the container's own (else leftover processes may be in its cgroups,
 * which runc kills first) and no Intel RDT group (runc removes it too).
 * Anything the shim then finds out of place makes it fall back to the
 * runtime's delete.
 */
import { basename } from 'node:path';
import { hasSystemdCgroupArg, rootArg } from '../oci/commands.js';
import type { BundleConfig } from '../oci/spec.js';

/** The config's part: runc's delete, once the container stopped, removes only its state and cgroups. */
export function isPlainRuntimeDelete(config: BundleConfig): boolean {
  const hooks = config.hooks as { poststop?: unknown } | undefined;
  const poststop = hooks?.poststop;
  if (poststop !== undefined && poststop !== null) {
    if (!Array.isArray(poststop) || poststop.length > 0) return false;
  }
  const linux = config.linux;
  if (!linux || linux.intelRdt !== undefined) return false;
  const namespaces = Array.isArray(linux.namespaces) ? (linux.namespaces as unknown[]) : [];
  return namespaces.some((ns) => {
    const { type, path } = (ns ?? {}) as { type?: unknown; path?: unknown };
    return type === 'pid' && (path === undefined || path === '');
  });
}

/** The runtime's part: runc, with its root given, on the cgroupfs driver. */
export function shimMayDeleteRuntimeState(
  runtime: string,
  runtimeArgs: readonly string[],
): boolean {
  return (
    basename(runtime) === 'runc' &&
    rootArg(runtimeArgs) !== undefined &&
    !hasSystemdCgroupArg(runtimeArgs)
  );
}
