/*
 * The OCI runtime's command line for each action (../PROTOCOL.md lists them).
 * Kept pure, apart from everything that runs it, so the argument order the
 * protocol promises is decided in one place.
 */
#ifndef BERTH_RUNTIME_ARGV_H
#define BERTH_RUNTIME_ARGV_H

#include "args.h"

enum rt_action { RT_CREATE, RT_RUN, RT_EXEC, RT_RESTORE, RT_DELETE, RT_DELETE_FORCE };

/* Absolute paths in the process folder: runc changes into the bundle first. */
struct rt_paths {
	const char *log;
	const char *pid;
	const char *process;
	const char *work;
};

/* Room for the fixed words, both repeatable option lists and the NULL. */
#define RUNTIME_ARGV_MAX (24 + 2 * MAX_EXTRA_ARGS)

/*
 * Fills argv (RUNTIME_ARGV_MAX entries, NULL-terminated) for action and
 * returns the number of arguments. console_socket is used by the actions
 * that start a process, and ignored by delete.
 */
int runtime_argv(const char *argv[RUNTIME_ARGV_MAX], const struct options *o, enum rt_action action,
		 const struct rt_paths *paths, const char *console_socket);

#endif
