/* Reaping children from the event loop (see reaper.c for why through a signalfd). */
#ifndef BERTH_REAPER_H
#define BERTH_REAPER_H

#include <stdbool.h>
#include <sys/types.h>

struct child_watch {
	pid_t pid;
	bool done;
	int status; /* exit code, or 128+signal */
};

int reaper_init(void);
int reaper_fd(void);
void reaper_reap(struct child_watch *watches, int n, bool hold_others);
bool reaper_claim_early(pid_t pid, int *status);
int exit_status_of(int wait_status);
/* After a failed runtime call: kills and reaps every child (see reaper.c). */
void reaper_kill_leftovers(long timeout_ms);

#endif
