#include <stddef.h>

#include "runtime_argv.h"

int runtime_argv(const char *argv[RUNTIME_ARGV_MAX], const struct options *o, enum rt_action action,
		 const struct rt_paths *paths, const char *console_socket)
{
	int n = 0;

	argv[n++] = o->runtime;
	for (int i = 0; i < o->n_runtime_args; i++)
		argv[n++] = o->runtime_args[i];
	argv[n++] = "--log";
	argv[n++] = paths->log;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	switch (action) {
	case RT_CREATE:
		argv[n++] = "create";
		argv[n++] = "--bundle";
		argv[n++] = o->bundle;
		argv[n++] = "--pid-file";
		argv[n++] = paths->pid;
		break;
	case RT_RUN:
		/* One runtime process instead of two, for callers with nothing to do in between. */
		argv[n++] = "run";
		argv[n++] = "-d";
		argv[n++] = "--bundle";
		argv[n++] = o->bundle;
		argv[n++] = "--pid-file";
		argv[n++] = paths->pid;
		break;
	case RT_EXEC:
		argv[n++] = "exec";
		argv[n++] = "-d";
		argv[n++] = "--process";
		argv[n++] = paths->process;
		argv[n++] = "--pid-file";
		argv[n++] = paths->pid;
		break;
	case RT_RESTORE:
		argv[n++] = "restore";
		argv[n++] = "-d";
		argv[n++] = "--image-path";
		argv[n++] = o->checkpoint;
		argv[n++] = "--work-path";
		argv[n++] = paths->work;
		argv[n++] = "--bundle";
		argv[n++] = o->bundle;
		argv[n++] = "--pid-file";
		argv[n++] = paths->pid;
		break;
	case RT_DELETE:
		argv[n++] = "delete";
		break;
	case RT_DELETE_FORCE:
		argv[n++] = "delete";
		argv[n++] = "--force";
		break;
	}
	if (console_socket && action != RT_DELETE && action != RT_DELETE_FORCE) {
		argv[n++] = "--console-socket";
		argv[n++] = console_socket;
	}
	if (o->no_pivot && (action == RT_CREATE || action == RT_RUN || action == RT_RESTORE))
		argv[n++] = "--no-pivot";
	if (action == RT_RESTORE)
		for (int i = 0; i < o->n_restore_args; i++)
			argv[n++] = o->restore_args[i];
	argv[n++] = o->id;
	argv[n] = NULL;
	return n;
}
