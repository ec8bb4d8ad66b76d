/*
 * Child reaping. SIGCHLD is blocked and read from a signalfd, so reaping runs
 * in the event loop, not in a handler. As child subreaper the shim also
 * inherits the container process (and runc's helpers) when runc exits. An
 * `exec -d` process may finish before runc does, i.e. before its PID is known:
 * such zombies are left unreaped while the runtime runs (see hold_others), and
 * any exit reaped before the PID is known is kept in a small table.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "protocol.h"
#include "reaper.h"
#include "util.h"

#define EARLY_MAX 64

static int sig_fd = -1;
static struct {
	pid_t pid;
	int status;
} early[EARLY_MAX];
static unsigned early_next;

int reaper_init(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return sig_fd;
}

int reaper_fd(void)
{
	return sig_fd;
}

int exit_status_of(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return UNKNOWN_STATUS;
}

/*
 * hold_others: reap only the watched PIDs and leave other zombies alone. While
 * the runtime runs, the PID of the container process is not known yet; left a
 * zombie, it keeps its /proc/PID/stat, so its start time can still be read
 * once the PID file is, even if the process exited before the runtime did.
 */
void reaper_reap(struct child_watch *w, int n, bool hold_others)
{
	struct signalfd_siginfo si;
	/* SIGCHLD coalesces: the signalfd only says "look", waitpid says who. */
	while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
		;
	if (hold_others) {
		for (int i = 0; i < n; i++) {
			int ws;
			if (w[i].pid > 0 && !w[i].done &&
			    waitpid(w[i].pid, &ws, WNOHANG) == w[i].pid) {
				w[i].done = true;
				w[i].status = exit_status_of(ws);
			}
		}
		return;
	}
	for (;;) {
		int ws;
		pid_t p = waitpid(-1, &ws, WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			break;
		bool matched = false;
		for (int i = 0; i < n; i++) {
			if (w[i].pid > 0 && w[i].pid == p && !w[i].done) {
				w[i].done = true;
				w[i].status = exit_status_of(ws);
				matched = true;
				break;
			}
		}
		if (!matched) {
			/* Ring: an entry we may still ask for is among the most recent. */
			early[early_next % EARLY_MAX].pid = p;
			early[early_next % EARLY_MAX].status = exit_status_of(ws);
			early_next++;
		}
	}
}

bool reaper_claim_early(pid_t pid, int *status)
{
	for (unsigned i = 0; i < EARLY_MAX; i++) {
		if (early[i].pid == pid && pid > 0) {
			*status = early[i].status;
			early[i].pid = 0;
			return true;
		}
	}
	return false;
}

/*
 * A runtime call that failed may leave processes behind: a runtime that died
 * leaves its own children (runc, mid-create or mid-exec), which the shim, as
 * subreaper, inherits, and an exec'd process whose PID never reached the pid
 * file. Until the runtime succeeds every child of the shim is the runtime's,
 * so all of them are killed and reaped, and so are the children they leave
 * to the shim in turn, for at most timeout_ms.
 */
void reaper_kill_leftovers(long timeout_ms)
{
	char path[64], buf[4096];
	long long deadline = mono_ms() + timeout_ms;
	fmt(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	for (;;) {
		/* Zombies are children too: reap first, then see who is left. */
		int ws;
		while (waitpid(-1, &ws, WNOHANG) > 0)
			;
		if (read_file(path, buf, sizeof buf) < 0) {
			log_warn("%s: %s: leftovers of the runtime not looked for", path,
				 errstr(errno));
			return;
		}
		int killed = 0;
		char *p = buf, *end;
		for (long pid; (pid = strtol(p, &end, 10)) > 0 && end != p; p = end) {
			kill((pid_t)pid, SIGKILL);
			killed++;
		}
		if (!killed)
			return;
		log_warn("killed %d process(es) the runtime left behind", killed);
		long left = (long)(deadline - mono_ms());
		if (left <= 0) {
			log_error("leftovers of the runtime still there after %ld ms", timeout_ms);
			return;
		}
		if (sig_fd >= 0) {
			struct pollfd pfd = {.fd = sig_fd, .events = POLLIN};
			poll(&pfd, 1, left < 20 ? (int)left : 20);
		} else {
			usleep(1000);
		}
	}
}
