/* State files in the process folder, written so that a crash never tears them. */
#ifndef BERTH_STATUSFILE_H
#define BERTH_STATUSFILE_H

#include <sys/types.h>

int write_atomic(const char *name, const char *content);
/* At startup: holds the space the exit status will need (see statusfile.c). */
int reserve_exit_status(void);
/* Gives the reservation up (a start that failed). */
void release_exit_status(void);
int write_exit_status(int status);
int write_starttime(pid_t pid);
int read_pid_file(pid_t *out);

#endif
