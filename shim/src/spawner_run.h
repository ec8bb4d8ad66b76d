/*
 * The spawner's one-shot runs: the library's OCI runtime calls (state, pause,
 * update, delete...), forked here rather than from Node, their output
 * collected and sent back whole once they exit.
 */
#ifndef BERTH_SPAWNER_RUN_H
#define BERTH_SPAWNER_RUN_H

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

/* Room the poll set needs for the runs' pipes. */
#define RUN_POLL_MAX 1024

/* fields: ID, CWD, INPUT ("-" none, or "=" then the bytes), EXECUTABLE, ARG1... */
void run_start(char *fields[], int n_fields);
/* SIGKILL to the run ID if it has not been reaped yet. */
void run_kill(const char *id_field);
/* Adds the runs' open pipes to pfd (room for RUN_POLL_MAX); returns how many. */
int run_poll_set(struct pollfd *pfd);
/* Reads what the pipes polled in pfd[0..count) hold. */
void run_poll_ready(const struct pollfd *pfd, int count);
/* Runs not answered yet. */
int run_active(void);
/* A reaped child: if it was a run, answers for it and returns true. */
bool run_reaped(pid_t pid, int wait_status);

#endif
