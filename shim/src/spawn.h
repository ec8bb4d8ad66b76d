/*
 * fork + exec of a helper (the OCI runtime) with every signal at its default
 * and an empty mask: the shim ignores and blocks signals that the runtime,
 * and through it the container, must not inherit.
 */
#ifndef BERTH_SPAWN_H
#define BERTH_SPAWN_H

#include <sys/types.h>

/*
 * Starts file (searched in PATH) with argv and stdio[0..2] as its 0, 1, 2.
 * Returns its PID once exec has succeeded, or -1 with errno (the child's exec
 * error when exec failed; that child is left to the reaper).
 */
/*
 * In a forked child: every signal back to its default and an empty mask,
 * with raw system calls (glibc's wrappers refuse its internal signals 32, 33).
 */
void reset_signals(void);

pid_t spawn_process(const char *file, const char *const *argv, const int stdio[3]);

#endif
