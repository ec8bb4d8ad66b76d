/*
 * Running the OCI runtime. The shim ignores several signals and blocks
 * SIGCHLD; dispositions set to SIG_IGN and the mask survive exec, so the
 * runtime (and through it the container) is started with every signal at its
 * default and an empty mask.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
		int n = fmt(cmdline + o, sizeof cmdline - o, "%s%s", i ? " " : "", argv[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/*
 * The child: every signal back to its default and an empty mask, using raw
 * system calls. glibc's wrappers refuse its two internal signals (32 and 33),
 * and its posix_spawn even sets those to SIG_IGN in the child, which exec
 * keeps: the runtime, and through it the container, would ignore them.
 */
static void exec_child(const char *file, const char *const *argv, const int stdio[3], int errfd)
	__attribute__((noreturn));
static void exec_child(const char *file, const char *const *argv, const int stdio[3], int errfd)
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
	/* stdio[] are >= 3 (0-2 are always open in the shim): no source is overwritten,
	 * and dup2 clears close-on-exec on the copies. */
	for (int i = 0; i < 3; i++)
		if (dup2(stdio[i], i) < 0)
			goto fail;
	execvp(file, (char *const *)argv);
fail: {
	int e = errno;
	ssize_t n = write(errfd, &e, sizeof e);
	(void)n;
	_exit(127);
}
}

pid_t runtime_spawn(const struct options *o, enum rt_action action, const int stdio[3],
		    const char *console_socket)
{
	static const char *argv[ARGV_MAX];
	int n = 0;

	if (!join_path(log_path, sizeof log_path, g_abs, RUNTIME_LOG_FILE) ||
	    !join_path(pid_path, sizeof pid_path, g_abs, PID_FILE) ||
	    !join_path(process_path, sizeof process_path, g_abs, PROCESS_FILE) ||
	    !join_path(work_path, sizeof work_path, g_abs, CRIU_WORK_DIR)) {
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
	case RT_RUN:
		/* create and start in one runtime process, for callers with nothing to do in between */
		argv[n++] = "run";
		argv[n++] = "-d";
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
	if (console_socket && action != RT_DELETE && action != RT_DELETE_FORCE) {
		argv[n++] = "--console-socket";
		argv[n++] = console_socket;
	}
	if (o->no_pivot && (action == RT_CREATE || action == RT_RUN || action == RT_RESTORE))
		argv[n++] = "--no-pivot";
	if (action == RT_RESTORE) {
		for (int i = 0; i < o->n_restore_args; i++)
			argv[n++] = o->restore_args[i];
		/* criu wants the work directory to exist. */
		if (mkdir(work_path, 0700) < 0 && errno != EEXIST)
			log_warn("mkdir %s: %s", work_path, errstr(errno));
	}
	argv[n++] = o->id;
	argv[n] = NULL;

	describe(argv);
	log_info("running: %s", cmdline);

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
		exec_child(o->runtime, argv, stdio, errpipe[1]);
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
	int fd = open(RUNTIME_LOG_FILE, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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
