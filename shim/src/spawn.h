/*
 * fork + exec of a helper (the OCI runtime) with every signal at its default
 * and an empty mask: the shim ignores and blocks signals that the runtime,
 * and through it the container, must not inherit.
 */
#ifndef BERTH_SPAWN_H
#define BERTH_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * In a forked child: every signal back to its default and an empty mask,
 * with raw system calls (glibc's wrappers refuse its internal signals 32, 33).
 */
void reset_signals(void);

/* How a child is set up between fork and exec. */
struct spawn_spec {
	const char *cwd;  /* NULL: this process's */
	bool new_session; /* setsid(): its own session and process group */
	bool search_path; /* look file up in PATH (execvp), else take it as a path */
	int stdio[3];  /* its 0, 1, 2: descriptors >= 3 (0-2 are always open here), -1 for /dev/null
			*/
	int report_fd; /* dup'd to its fd 3, or -1 */
};

/*
 * fork + exec of file with argv, signals reset (see above), set up as spec
 * says. Returns its PID once exec has succeeded, or -1 with errno: fork's, or
 * the child's exec error (that child is left to the reaper).
 */
pid_t spawn_child(const char *file, char *const *argv, const struct spawn_spec *spec);

/* The runtime: file searched in PATH, stdio[0..2] as its 0, 1, 2. */
pid_t spawn_process(const char *file, const char *const *argv, const int stdio[3]);

#endif
