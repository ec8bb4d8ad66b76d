/*
 * Child reaping. SIGCHLD is blocked and read from a signalfd, so reaping runs
 * in the event loop, not in a handler. As child subreaper the shim also
 * inherits the container process (and runc's helpers) when runc exits. An
 * `exec -d` process may finish before runc does, i.e. before its PID is known:
 * such zombies are left unreaped while the runtime runs (see hold_others), and
 * any exit reaped before the PID is known is kept in a small table.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol.h"
#include "reaper.h"

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
