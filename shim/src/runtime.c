/*
 * Running the OCI runtime. The shim ignores several signals and blocks
 * SIGCHLD; dispositions set to SIG_IGN and the mask survive exec, so the
 * runtime (and through it the container) is spawned with every signal at its
 * default and an empty mask.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define ARGV_MAX (24 + 2 * MAX_EXTRA_ARGS)

static char log_path[PATH_BUF];
static char pid_path[PATH_BUF];
static char process_path[PATH_BUF];
static char work_path[PATH_BUF];
static char cmdline[2048];

static void describe(const char *const *argv)
{
	size_t o = 0;
	cmdline[0] = '\0';
	for (int i = 0; argv[i] && o + 2 < sizeof cmdline; i++) {
		int n = snprintf(cmdline + o, sizeof cmdline - o, "%s%s", i ? " " : "", argv[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

pid_t runtime_spawn(const struct options *o, enum rt_action action, const int stdio[3],
		    const char *console_socket)
{
	static const char *argv[ARGV_MAX];
	int n = 0;

	if (!join_path(log_path, sizeof log_path, g_abs, "log.json") ||
	    !join_path(pid_path, sizeof pid_path, g_abs, "pid") ||
	    !join_path(process_path, sizeof process_path, g_abs, "process.json") ||
	    !join_path(work_path, sizeof work_path, g_abs, "criu.work")) {
		errno = ENAMETOOLONG;
		return -1;
	}

	argv[n++] = o->runtime;
	for (int i = 0; i < o->n_runtime_args; i++)
		argv[n++] = o->runtime_args[i];
	argv[n++] = "--log";
	argv[n++] = log_path;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	switch (action) {
	case RT_CREATE:
		argv[n++] = "create";
		argv[n++] = "--bundle";
		argv[n++] = o->bundle;
		argv[n++] = "--pid-file";
		argv[n++] = pid_path;
		break;
	case RT_EXEC:
		argv[n++] = "exec";
		argv[n++] = "-d";
		argv[n++] = "--process";
		argv[n++] = process_path;
		argv[n++] = "--pid-file";
		argv[n++] = pid_path;
		break;
	case RT_RESTORE:
		argv[n++] = "restore";
		argv[n++] = "-d";
		argv[n++] = "--image-path";
		argv[n++] = o->checkpoint;
		argv[n++] = "--work-path";
		argv[n++] = work_path;
		argv[n++] = "--bundle";
		argv[n++] = o->bundle;
		argv[n++] = "--pid-file";
		argv[n++] = pid_path;
		break;
	case RT_DELETE:
		argv[n++] = "delete";
		break;
	case RT_DELETE_FORCE:
		argv[n++] = "delete";
		argv[n++] = "--force";
		break;
	}
	if (console_socket && (action == RT_CREATE || action == RT_EXEC || action == RT_RESTORE)) {
		argv[n++] = "--console-socket";
		argv[n++] = console_socket;
	}
	if (o->no_pivot && (action == RT_CREATE || action == RT_RESTORE))
		argv[n++] = "--no-pivot";
	if (action == RT_RESTORE) {
		for (int i = 0; i < o->n_restore_args; i++)
			argv[n++] = o->restore_args[i];
		/* criu wants the work directory to exist. */
		if (mkdir(work_path, 0700) < 0 && errno != EEXIST)
			log_warn("mkdir %s: %s", work_path, strerror(errno));
	}
	argv[n++] = o->id;
	argv[n] = NULL;

	describe(argv);
	log_info("running: %s", cmdline);

	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_init(&fa);
	/* stdio[] are >= 3 (0-2 are always open in the shim), so dup2 clears CLOEXEC. */
	for (int i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, stdio[i], i);
	pid_t pid;
	int rc = posix_spawnp(&pid, o->runtime, &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return pid;
}

/* Decodes a JSON string body starting after the opening quote, into one line. */
static void json_unescape_line(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	while (*s && *s != '"' && o + 4 < cap) {
		char c = *s++;
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		c = *s++;
		switch (c) {
		case 'n':
		case 'r':
		case 't':
			out[o++] = ' ';
			break;
		case 'b':
		case 'f':
			break;
		case 'u': {
			unsigned cp = 0;
			int i;
			for (i = 0; i < 4 && s[i]; i++) {
				char h = s[i];
				cp = cp * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
			}
			s += i;
			if (cp < 0x20)
				out[o++] = ' ';
			else if (cp < 0x80)
				out[o++] = (char)cp;
			else if (cp < 0x800) {
				out[o++] = (char)(0xc0 | (cp >> 6));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			} else {
				/* Surrogates come out as U+FFFD through the logger's validation. */
				out[o++] = (char)(0xe0 | (cp >> 12));
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		}
		case '\0':
			s--;
			break;
		default:
			out[o++] = c;
		}
	}
	out[o] = '\0';
}

/*
 * The runtime's reason for failing: the msg of the last error line of
 * log.json, else the last msg. Only the file's tail is read.
 */
void runtime_last_error(char *out, size_t cap)
{
	static char tail[16384];
	out[0] = '\0';
	int fd = open("log.json", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof tail - 1 ? size - (off_t)sizeof tail + 1 : 0;
	ssize_t n = size > 0 ? pread(fd, tail, sizeof tail - 1, from) : 0;
	close(fd);
	if (n <= 0)
		return;
	tail[n] = '\0';

	const char *best = NULL, *any = NULL;
	char *line = tail;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		const char *m = strstr(line, "\"msg\":\"");
		if (m) {
			any = m + 7;
			if (strstr(line, "\"level\":\"error\"") || strstr(line, "\"level\":\"fatal\""))
				best = m + 7;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (best || any)
		json_unescape_line(best ? best : any, out, cap);
}

/* Runs a short runtime command (delete) to completion, killing it if it hangs. */
int runtime_run_sync(const struct options *o, enum rt_action action, long timeout_ms)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return -1;
	int stdio[3] = {null_fd, null_fd, null_fd};
	pid_t pid = runtime_spawn(o, action, stdio, NULL);
	close(null_fd);
	if (pid < 0) {
		log_error("spawn %s: %s", o->runtime, strerror(errno));
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
				/* SIGKILL was not enough within the grace period; leave it to init. */
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
		log_warn("%s exited with status %d%s%s", cmdline, w.status, msg[0] ? ": " : "", msg);
	}
	return w.status;
}
