/* OOM kills in the container's memory cgroup, reported as event lines. */
#ifndef BERTH_OOM_H
#define BERTH_OOM_H

#include <sys/types.h>

/* The descriptor to poll, or -1 when OOM kills cannot be watched (logged). */
int oom_start(pid_t pid);
/* Calls emit with an event line for each kill seen since the last check. */
void oom_check(void (*emit)(const char *line));
void oom_stop(void);

#endif
