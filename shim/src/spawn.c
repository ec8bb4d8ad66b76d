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

static void exec_child(const char *file, char *const *argv, const struct spawn_spec *spec,
		       int errfd) __attribute__((noreturn));
static void exec_child(const char *file, char *const *argv, const struct spawn_spec *spec,
		       int errfd)
{
	int e;
	reset_signals();
	if (spec->new_session && setsid() < 0)
		goto fail;
	if (spec->cwd && chdir(spec->cwd) < 0)
		goto fail;
	/* Sources are >= 3: no dup2 below overwrites one still to be copied. dup2 clears
	 * close-on-exec on the copies. */
	int null_fd = -1;
	for (int i = 0; i < 3; i++) {
		int fd = spec->stdio[i];
		if (fd < 0) {
			if (null_fd < 0 && (null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				goto fail;
			fd = null_fd;
		}
		if (dup2(fd, i) < 0)
			goto fail;
	}
	if (spec->report_fd >= 0 && dup2(spec->report_fd, 3) < 0)
		goto fail;
	if (spec->search_path)
		execvp(file, argv);
	else
		execv(file, argv);
fail:
	e = errno;
	ssize_t n = write(errfd, &e, sizeof e);
	(void)n;
	_exit(127);
}

pid_t spawn_child(const char *file, char *const *argv, const struct spawn_spec *spec)
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
		exec_child(file, argv, spec, errpipe[1]);
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

pid_t spawn_process(const char *file, const char *const *argv, const int stdio[3])
{
	struct spawn_spec spec = {
		.search_path = true,
		.stdio = {stdio[0], stdio[1], stdio[2]},
		.report_fd = -1,
	};
	return spawn_child(file, (char *const *)argv, &spec);
}
