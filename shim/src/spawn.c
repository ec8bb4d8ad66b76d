/*
 * Not posix_spawn: glibc's sets its two internal signals (32 and 33) to
 * SIG_IGN in the child, which exec keeps, and its sigaction wrapper refuses
 * them; so the child resets every signal with raw system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spawn.h"

void reset_signals(void)
{
	/* The kernel's struct sigaction, not libc's: the raw call takes this layout. */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void *restorer;
		unsigned long long mask;
	} dfl = {.handler = SIG_DFL};
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
	unsigned long long none = 0;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
}

static void exec_child(const char *file, const char *const *argv, const int stdio[3], int errfd)
	__attribute__((noreturn));
static void exec_child(const char *file, const char *const *argv, const int stdio[3], int errfd)
{
	int e;
	reset_signals();
	/* stdio[] are >= 3 (0-2 are always open in the shim): no source is overwritten,
	 * and dup2 clears close-on-exec on the copies. */
	for (int i = 0; i < 3; i++)
		if (dup2(stdio[i], i) < 0)
			goto fail;
	execvp(file, (char *const *)argv);
fail:
	e = errno;
	ssize_t n = write(errfd, &e, sizeof e);
	(void)n;
	_exit(127);
}

pid_t spawn_process(const char *file, const char *const *argv, const int stdio[3])
{
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(errpipe[0]);
		close(errpipe[1]);
		errno = e;
		return -1;
	}
	if (pid == 0)
		exec_child(file, argv, stdio, errpipe[1]);
	close(errpipe[1]);
	/* EOF means exec succeeded (the pipe is close-on-exec); else the child's errno. */
	int child_errno = 0;
	ssize_t got;
	do
		got = read(errpipe[0], &child_errno, sizeof child_errno);
	while (got < 0 && errno == EINTR);
	close(errpipe[0]);
	if (got == (ssize_t)sizeof child_errno) {
		/* The child has exited (or is about to): leave it to the reaper. */
		errno = child_errno;
		return -1;
	}
	return pid;
}
