/*
 * The spawner's protocol (berth's library is its only client).
 *
 * Requests on stdin, NUL-separated fields, ended by an empty field:
 *   ID \0 CWD \0 EXECUTABLE \0 ARG1 \0 ... \0 \0
 * The executable is started (as its own argv[0]) with ARGs, in CWD, in a session of its own, with
 * every signal at its default, an empty mask, stdio on /dev/null, and the
 * write end of a fresh pipe as fd 3 (its readiness report, `--ready-fd 3`).
 *
 * Replies on stdout, one line each:
 *   ID spawned PID       it runs
 *   ID ready LINE        the first line it wrote on fd 3
 *   ID gone              fd 3 closed without a line (it died)
 *   ID error MESSAGE     it could not be started
 * Children are reaped here. EOF on stdin ends the spawner; the shims it
 * started live on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt.h"
#include "spawner.h"

#define MAX_PENDING 512
#define REQUEST_MAX 65536
#define ARGS_MAX 256
#define READY_MAX 1200

struct pending {
	long id;
	int fd;
	size_t len;
	char line[READY_MAX];
};

static struct pending pending[MAX_PENDING];
static int n_pending;
static char request[REQUEST_MAX];
static size_t request_len;

static void reply(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *format, ...)
{
	char line[READY_MAX + 64];
	va_list ap;
	va_start(ap, format);
	int n = fmt_v(line, sizeof line - 1, format, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = write(STDOUT_FILENO, line + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(0); /* the library is gone */
		off += (size_t)w;
	}
}

/* In the child: a new session, default signals, empty mask, stdio on /dev/null, fd 3 the report. */
static void exec_shim(const char *cwd, const char *exe, char *const *argv, int ready_fd, int err_fd)
	__attribute__((noreturn));
static void exec_shim(const char *cwd, const char *exe, char *const *argv, int ready_fd, int err_fd)
{
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
	int e;
	int null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || setsid() < 0 || chdir(cwd) < 0)
		goto fail;
	for (int i = 0; i < 3; i++)
		if (dup2(null_fd, i) < 0)
			goto fail;
	if (dup2(ready_fd, 3) < 0)
		goto fail;
	execv(exe, argv);
fail:
	e = errno;
	ssize_t n = write(err_fd, &e, sizeof e);
	(void)n;
	_exit(127);
}

static void start_shim(char *fields[], int n_fields)
{
	long id = 0;
	for (const char *p = fields[0]; *p; p++)
		id = id * 10 + (*p >= '0' && *p <= '9' ? *p - '0' : 0);
	if (n_fields < 3) {
		reply("%ld error malformed request", id);
		return;
	}
	if (n_pending == MAX_PENDING) {
		reply("%ld error too many starts in flight", id);
		return;
	}
	char *argv[ARGS_MAX + 1];
	int argc = 0;
	for (int i = 2; i < n_fields && argc < ARGS_MAX; i++)
		argv[argc++] = fields[i];
	argv[argc] = NULL;
	int ready[2], err[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		reply("%ld error pipe: %s", id, errstr(errno));
		return;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		reply("%ld error pipe: %s", id, errstr(errno));
		close(ready[0]);
		close(ready[1]);
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		exec_shim(fields[1], fields[2], argv, ready[1], err[1]);
	int fork_errno = errno;
	close(ready[1]);
	close(err[1]);
	if (pid < 0) {
		reply("%ld error fork: %s", id, errstr(fork_errno));
		close(ready[0]);
		close(err[0]);
		return;
	}
	int child_errno = 0;
	ssize_t got;
	do
		got = read(err[0], &child_errno, sizeof child_errno);
	while (got < 0 && errno == EINTR);
	close(err[0]);
	if (got == (ssize_t)sizeof child_errno) {
		reply("%ld error %s: %s", id, fields[2], errstr(child_errno));
		close(ready[0]);
		return;
	}
	reply("%ld spawned %d", id, (int)pid);
	struct pending *p = &pending[n_pending++];
	p->id = id;
	p->fd = ready[0];
	p->len = 0;
}

/* Splits complete requests off the buffer. */
static void take_requests(void)
{
	size_t start = 0;
	for (;;) {
		char *fields[ARGS_MAX + 3];
		int n = 0;
		size_t pos = start;
		bool complete = false;
		while (pos < request_len) {
			char *field = request + pos;
			char *end = memchr(field, '\0', request_len - pos);
			if (!end)
				break;
			pos = (size_t)(end - request) + 1;
			if (end == field) {
				complete = true;
				break;
			}
			if (n < ARGS_MAX + 2)
				fields[n++] = field;
		}
		if (!complete)
			break;
		if (n > 0)
			start_shim(fields, n);
		start = pos;
	}
	memmove(request, request + start, request_len - start);
	request_len -= start;
	/* No request of the library's comes near the buffer's size: one that fills it is garbage.
	 */
	if (request_len == sizeof request)
		request_len = 0;
}

static void read_ready(int i)
{
	struct pending *p = &pending[i];
	ssize_t n = read(p->fd, p->line + p->len, sizeof p->line - 1 - p->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	bool done = false;
	if (n > 0) {
		p->len += (size_t)n;
		char *nl = memchr(p->line, '\n', p->len);
		if (nl || p->len == sizeof p->line - 1) {
			if (nl)
				*nl = '\0';
			else
				p->line[p->len] = '\0';
			reply("%ld ready %s", p->id, p->line);
			done = true;
		}
	} else {
		reply("%ld gone", p->id);
		done = true;
	}
	if (done) {
		close(p->fd);
		pending[i] = pending[--n_pending];
	}
}

int spawner_main(void)
{
	signal(SIGPIPE, SIG_IGN);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		return 1;
	for (;;) {
		struct pollfd pfd[MAX_PENDING + 2];
		pfd[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		for (int i = 0; i < n_pending; i++)
			pfd[i + 2] = (struct pollfd){.fd = pending[i].fd, .events = POLLIN};
		int count = n_pending;
		if (poll(pfd, (nfds_t)count + 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo info;
			while (read(sig_fd, &info, sizeof info) > 0)
				;
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		}
		/* From the end: read_ready moves the last pending entry into a freed slot. */
		for (int i = count - 1; i >= 0; i--)
			if (pfd[i + 2].revents)
				read_ready(i);
		if (pfd[0].revents) {
			ssize_t n = read(STDIN_FILENO, request + request_len,
					 sizeof request - request_len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 0;
			request_len += (size_t)n;
			take_requests();
		}
	}
}
