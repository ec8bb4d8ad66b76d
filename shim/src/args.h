/*
 * The command line (../PROTOCOL.md, "Command line"), parsed into fixed-size
 * fields: the strings stay in argv, so parsing allocates nothing.
 */
#ifndef BERTH_ARGS_H
#define BERTH_ARGS_H

#include <stdbool.h>

#define MAX_EXTRA_ARGS 32

/* Kept in step with package.json's version. */
#define SHIM_VERSION "0.1.0"

/* Which libc the shim was built against, for --version. */
#ifdef __GLIBC__
#define SHIM_LIBC "glibc"
#else
#define SHIM_LIBC "musl"
#endif

enum shim_mode { MODE_CREATE, MODE_RUN, MODE_EXEC, MODE_RESTORE };

struct options {
	enum shim_mode mode;
	const char *stdin_path;
	const char *stdout_path;
	const char *stderr_path;
	bool terminal;
	bool no_pivot;
	bool oom;
	bool self_delete;
	bool version;
	const char *runtime_args[MAX_EXTRA_ARGS];
	int n_runtime_args;
	const char *restore_args[MAX_EXTRA_ARGS];
	int n_restore_args;
	const char *checkpoint;
	long stdio_timeout_ms;
	long drain_timeout_ms;
	int ready_fd;
	const char *id;
	const char *bundle;
	const char *runtime;
};

/*
 * Fills o (defaults first) and returns NULL, or the first error. Parsing goes
 * on past an error so that --ready-fd is still found and the error can be
 * reported on it.
 */
const char *args_parse(int argc, char **argv, struct options *o);

/* The runtime subcommand a mode stands for, for messages. */
const char *mode_verb(enum shim_mode mode);

#endif
