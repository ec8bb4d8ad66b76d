#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "protocol.h"
#include "reaper.h"
#include "runtime.h"
#include "runtime_log.h"
#include "spawn.h"
#include "util.h"

static char log_path[PATH_BUF];
static char pid_path[PATH_BUF];
static char process_path[PATH_BUF];
static char work_path[PATH_BUF];
static const struct rt_paths paths = {
	.log = log_path,
	.pid = pid_path,
	.process = process_path,
	.work = work_path,
};
/* The last command line, for the messages about how it ended. */
static char cmdline[2048];

int runtime_init(const char *dir)
{
	if (!join_path(log_path, sizeof log_path, dir, RUNTIME_LOG_FILE) ||
	    !join_path(pid_path, sizeof pid_path, dir, PID_FILE) ||
	    !join_path(process_path, sizeof process_path, dir, PROCESS_FILE) ||
	    !join_path(work_path, sizeof work_path, dir, CRIU_WORK_DIR)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void describe(const char *const *argv)
{
	size_t o = 0;
	cmdline[0] = '\0';
	for (int i = 0; argv[i] && o + 2 < sizeof cmdline; i++) {
		int n = fmt(cmdline + o, sizeof cmdline - o, "%s%s", i ? " " : "", argv[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

pid_t runtime_spawn(const struct options *o, enum rt_action action, const int stdio[3],
		    const char *console_socket)
{
	static const char *argv[RUNTIME_ARGV_MAX];
	runtime_argv(argv, o, action, &paths, console_socket);
	/* criu wants the work directory to exist. */
	if (action == RT_RESTORE && mkdir(work_path, 0700) < 0 && errno != EEXIST)
		log_warn("mkdir %s: %s", work_path, errstr(errno));
	describe(argv);
	log_info("running: %s", cmdline);
	return spawn_process(o->runtime, argv, stdio);
}

int runtime_run_sync(const struct options *o, enum rt_action action, long timeout_ms)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return -1;
	int stdio[3] = {null_fd, null_fd, null_fd};
	pid_t pid = runtime_spawn(o, action, stdio, NULL);
	close(null_fd);
	if (pid < 0) {
		log_error("spawn %s: %s", o->runtime, errstr(errno));
		return -1;
	}
	struct child_watch w = {.pid = pid};
	long long deadline = mono_ms() + timeout_ms;
	bool killed = false;
	for (;;) {
		reaper_reap(&w, 1, false);
		if (w.done)
			break;
		long long left = deadline - mono_ms();
		if (left <= 0) {
			if (killed) {
				/* Not even SIGKILL within the grace period: leave it to init. */
				log_error("%s did not exit after SIGKILL", cmdline);
				return -1;
			}
			log_error("%s timed out after %ld ms; killing it", cmdline, timeout_ms);
			kill(pid, SIGKILL);
			killed = true;
			deadline = mono_ms() + 1000;
			continue;
		}
		struct pollfd p = {.fd = reaper_fd(), .events = POLLIN};
		poll(&p, 1, (int)left);
	}
	if (w.status != 0) {
		char msg[1024];
		runtime_last_error(msg, sizeof msg);
		log_warn("%s exited with status %d%s%s", cmdline, w.status, msg[0] ? ": " : "",
			 msg);
	}
	return w.status;
}
