/*
 * The spawner's protocol (berth's library is its only client).
 *
 * Requests on stdin, NUL-separated fields, ended by an empty field:
 *   ID \0 CWD \0 EXECUTABLE \0 ARG1 \0 ... \0 \0
 *     starts a shim: EXECUTABLE (as its own argv[0]) with ARGs, in CWD, in a
 *     session of its own, every signal at its default, an empty mask, stdio
 *     on /dev/null, and the write end of a fresh pipe as fd 3 (its readiness
 *     report, `--ready-fd 3`).
 *   run \0 ID \0 CWD \0 INPUT \0 EXECUTABLE \0 ARG1 \0 ... \0 \0
 *     runs a one-shot command (the OCI runtime) the same way, but in the
 *     spawner's process group, stdin fed INPUT ("-": none, /dev/null; "=" and
 *     then the bytes), stdout and stderr collected (see spawner_run.c).
 *   kill \0 ID \0 \0
 *     SIGKILL to that run, if it has not exited.
 *
 * Replies on stdout, one line each:
 *   ID spawned PID       it runs
 *   ID ready LINE        (shim) the first line it wrote on fd 3
 *   ID gone              (shim) fd 3 closed without a line (it died)
 *   ID error MESSAGE     (shim) it could not be started
 *   ID error ERRNO MESSAGE                  (run) it could not be started
 *   ID exited CODE SIGNAL OUTLEN ERRLEN     (run) it ended: CODE is its exit
 *                        status or -1, SIGNAL what killed it or 0; then
 *                        OUTLEN bytes of its stdout and ERRLEN of its stderr
 * Children are reaped here. EOF on stdin ends the spawner once the runs in
 * flight have answered; the shims it started live on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt.h"
#include "line.h"
#include "spawn.h"
#include "spawner.h"
#include "spawner_reply.h"
#include "spawner_run.h"

#define MAX_PENDING 512
#define REQUEST_MAX 65536
#define ARGS_MAX 256
#define READY_MAX 1200

struct pending {
	long id;
	int fd;
	struct line_buf ready;
	char line[READY_MAX];
};

static struct pending pending[MAX_PENDING];
static int n_pending;
static char request[REQUEST_MAX];
/* NUL-separated fields; an empty one ends a request. */
static struct line_buf requests;

static void start_shim(char *fields[], int n_fields)
{
	long id = parse_id(fields[0]);
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
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		reply("%ld error pipe: %s", id, errstr(errno));
		return;
	}
	struct spawn_spec spec = {
		.cwd = fields[1],
		.new_session = true,
		.stdio = {-1, -1, -1},
		.report_fd = ready[1],
	};
	pid_t pid = spawn_child(fields[2], argv, &spec);
	int spawn_errno = errno;
	close(ready[1]);
	if (pid < 0) {
		reply("%ld error %s: %s", id, fields[2], errstr(spawn_errno));
		close(ready[0]);
		return;
	}
	reply("%ld spawned %d", id, (int)pid);
	struct pending *p = &pending[n_pending++];
	p->id = id;
	p->fd = ready[0];
	line_init(&p->ready, p->line, sizeof p->line, '\n');
}

/*
 * Takes the complete requests the buffer holds; an incomplete one stays for
 * the next read. (A request that fills the buffer is dropped field by field:
 * no request of the library's comes near its size.)
 */
static void take_requests(void)
{
	for (;;) {
		/* The fields are NUL-terminated where they lie: going back re-reads them unchanged.
		 */
		size_t mark = requests.start;
		bool skipping = requests.skipping;
		char *fields[ARGS_MAX + 3];
		int n = 0;
		bool complete = false;
		char *field;
		size_t len;
		while ((field = line_next(&requests, &len))) {
			if (len == 0) {
				complete = true;
				break;
			}
			if (n < ARGS_MAX + 2)
				fields[n++] = field;
		}
		if (!complete) {
			requests.start = mark;
			requests.skipping = skipping;
			return;
		}
		if (n > 1 && !strcmp(fields[0], "run"))
			run_start(fields + 1, n - 1);
		else if (n > 1 && !strcmp(fields[0], "kill"))
			run_kill(fields[1]);
		else if (n > 0)
			start_shim(fields, n);
	}
}

static void read_ready(int i)
{
	struct pending *p = &pending[i];
	size_t room;
	char *to = line_room(&p->ready, &room);
	ssize_t n = read(p->fd, to, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	bool done = false;
	if (n > 0) {
		line_filled(&p->ready, (size_t)n);
		size_t len;
		char *line = line_next(&p->ready, &len);
		/* The first line, or as much of it as fits: the shim writes only one. */
		if (!line && line_full(&p->ready))
			line = line_rest(&p->ready, &len);
		if (line) {
			reply("%ld ready %s", p->id, line);
			done = true;
		}
	} else {
		reply("%ld gone", p->id);
		done = true;
	}
	if (done) {
		close(p->fd);
		pending[i] = pending[--n_pending];
		/* It pointed into the slot it was copied from. */
		pending[i].ready.buf = pending[i].line;
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
	line_init(&requests, request, sizeof request, '\0');
	/* At EOF the runs in flight still answer (a retiring library waits for them). */
	bool closing = false;
	for (;;) {
		if (closing && run_active() == 0)
			return 0;
		static struct pollfd pfd[2 + MAX_PENDING + RUN_POLL_MAX];
		pfd[0] = (struct pollfd){.fd = closing ? -1 : STDIN_FILENO, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		for (int i = 0; i < n_pending; i++)
			pfd[i + 2] = (struct pollfd){.fd = pending[i].fd, .events = POLLIN};
		int count = n_pending;
		struct pollfd *run_pfd = pfd + 2 + count;
		int run_count = run_poll_set(run_pfd);
		if (poll(pfd, (nfds_t)(2 + count + run_count), -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		/* Before reaping, which reorders the runs that run_pfd follows. */
		run_poll_ready(run_pfd, run_count);
		/* From the end: read_ready moves the last pending entry into a freed slot. */
		for (int i = count - 1; i >= 0; i--)
			if (pfd[i + 2].revents)
				read_ready(i);
		if (pfd[1].revents) {
			struct signalfd_siginfo info;
			while (read(sig_fd, &info, sizeof info) > 0)
				;
			int status;
			pid_t pid;
			/* Shims it started are nobody's to answer for: reaped only. */
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				run_reaped(pid, status);
		}
		if (pfd[0].revents) {
			size_t room;
			char *to = line_room(&requests, &room);
			ssize_t n = read(STDIN_FILENO, to, room);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				closing = true;
				continue;
			}
			line_filled(&requests, (size_t)n);
			take_requests();
		}
	}
}
