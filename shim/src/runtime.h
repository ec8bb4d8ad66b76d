/* Running the OCI runtime for one action, and waiting for the short ones. */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <sys/types.h>

#include "args.h"
#include "runtime_argv.h"

/*
 * dir: the process folder's absolute path, which the runtime's file arguments
 * are made from once, here. -1 (ENAMETOOLONG) when they do not fit.
 */
int runtime_init(const char *dir);

/* Logs the command line and spawns it with stdio as its 0, 1, 2 (see spawn.h). */
pid_t runtime_spawn(const struct options *o, enum rt_action action, const int stdio[3],
		    const char *console_socket);

/* Runs a short runtime command (delete) on /dev/null to completion, killing it if it hangs. */
int runtime_run_sync(const struct options *o, enum rt_action action, long timeout_ms);

#endif
