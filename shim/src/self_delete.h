/*
 * `--self-delete`: after the init exited, the shim removes runc's container
 * itself instead of running `runc delete` (a Go process per container, about
 * a quarter of the CPU a container's whole cycle costs). For a stopped
 * container whose config has no poststop hooks, its own PID namespace (the
 * kernel killed everything in it with the init), no Intel RDT and the cgroupfs
 * driver, runc's delete does exactly this: remove the cgroup directories its
 * state.json records (retrying as runc does), then its state dir
 * `<root>/<id>`. The library passes the flag only then (src/runtime/shim/
 * self-delete.ts); the shim checks once more what it can see itself: the
 * runtime is named runc, `--root` is among the runtime arguments, the id is
 * one path component, the state names this id and this init's PID.
 */
#ifndef BERTH_SELF_DELETE_H
#define BERTH_SELF_DELETE_H

#include <sys/types.h>

#include "args.h"

/*
 * Returns 0 once the cgroups and the state dir are gone, or -1 (logged)
 * when anything did not hold: the caller runs the runtime's delete then,
 * which finds whatever is left.
 */
int self_delete(const struct options *o, pid_t init_pid);

/* The value of `--root DIR` or `--root=DIR` among the runtime arguments, or NULL. */
const char *runtime_root_arg(const struct options *o);

#endif
