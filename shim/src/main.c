/*
 * berth-shim: monitors one container process (init or exec) so that it can
 * outlive the supervisor. See ../PROTOCOL.md for the contract with the
 * TypeScript library. This file is its lifecycle: startup, the event loop
 * through the phases starting (the runtime runs), running (the process runs)
 * and draining (the process exited, its output is still arriving), and exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "args.h"
#include "control.h"
#include "fmt.h"
#include "log.h"
#include "oom.h"
#include "protocol.h"
#include "reaper.h"
#include "runtime.h"
#include "runtime_log.h"
#include "runtime_words.h"
#include "self_delete.h"
#include "spawner.h"
#include "statusfile.h"
#include "stream.h"
#include "terminal.h"
#include "util.h"

/* Output after the process exited, with nothing left in the shim: a source
 * quiet this long is taken as finished, since a leftover child of the process
 * may hold the pipe open forever. A slow reader is waited for regardless
 * (--drain-timeout bounds only a reader that accepts nothing). */
#define DRAIN_IDLE_MS 200
/* Once the process's own output is passed on, a leftover child that keeps
 * writing (never quiet for DRAIN_IDLE_MS) is cut off this long after the exit:
 * the exit is not held back for it. */
#define DRAIN_LEFTOVER_MS 2000
#define DELETE_TIMEOUT_MS 10000
#define LEFTOVER_KILL_MS 2000
/* The runtime's stderr words in an error report: what fits after the runtime's name (cut at
 * 256 bytes) and the rest of the message. */
#define RUNTIME_WORDS_REPORTED 700

/* Absolute path of the process folder (the shim's working directory). */
static char abs_dir[PATH_BUF];

static struct options opts;
static int exit_fd = -1, control_fd = -1, ready_fd = -1;
static int listen_fd = -1, conn_fd = -1, master_fd = -1, oom_fd = -1;
static bool resize_pending, eof_pending;
static unsigned pending_w, pending_h;

enum { W_RUNTIME, W_PROCESS };
static struct child_watch watch[2];

static enum { PH_STARTING, PH_RUNNING, PH_DRAIN } phase;

static void report(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *format, ...)
{
	char line[1200];
	if (ready_fd < 0)
		return;
	va_list ap;
	va_start(ap, format);
	size_t n = fmt_line(line, sizeof line, format, ap);
	va_end(ap);
	ssize_t w;
	do
		w = write(ready_fd, line, n);
	while (w < 0 && errno == EINTR);
	close(ready_fd);
	ready_fd = -1;
}

static void fail(const char *format, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *format, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, format);
	fmt_v(msg, sizeof msg, format, ap);
	va_end(ap);
	log_error("%s", msg);
	/* Starting, every child is the runtime's: nothing of a failed start may run on. */
	if (phase == PH_STARTING)
		reaper_kill_leftovers(LEFTOVER_KILL_MS);
	report(READY_ERROR " %s", msg);
	if (listen_fd >= 0)
		term_unlink_socket();
	release_exit_status();
	exit(1);
}

static enum rt_action start_action(enum shim_mode mode)
{
	switch (mode) {
	case MODE_EXEC:
		return RT_EXEC;
	case MODE_RESTORE:
		return RT_RESTORE;
	case MODE_RUN:
		return RT_RUN;
	default:
		return RT_CREATE;
	}
}

/* The runtime succeeded but we cannot watch the result: do not leave an orphan. */
static void abandon(const char *what, const char *why) __attribute__((noreturn));
static void abandon(const char *what, const char *why)
{
	log_error("%s: %s", what, why);
	if (opts.mode != MODE_EXEC)
		runtime_run_sync(&opts, RT_DELETE_FORCE, DELETE_TIMEOUT_MS);
	fail("%s: %s", what, why);
}

static void emit(const char *line)
{
	size_t len = strlen(line);
	ssize_t n;
	do
		n = write(exit_fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len)
		log_warn("exit FIFO: event \"%.*s\" dropped: %s", (int)len - 1, line,
			 n < 0 ? errstr(errno) : "short write");
}

static void on_control(unsigned type, unsigned w, unsigned h)
{
	switch (type) {
	case CONTROL_CLOSE_STDIN:
		log_info("control: close stdin");
		/* What the stdin FIFO holds goes first, then the end-of-file (see stream.c). */
		if (!opts.terminal || (master_fd >= 0 && g_in.active))
			stream_close_stdin(&g_in);
		else if (master_fd >= 0)
			term_send_eof(master_fd);
		else
			eof_pending = true;
		break;
	case CONTROL_DISCARD_OUTPUT: {
		size_t held = stream_drop_output(&g_out) + stream_drop_output(&g_err);
		log_info("control: discard output; %zu bytes held dropped, the rest is read and "
			 "dropped",
			 held);
		break;
	}
	case CONTROL_RESIZE:
		if (w > 0xffff || h > 0xffff) {
			/* A terminal's size is 16 bits: no silent truncation to another size. */
			log_warn("control: resize %ux%u ignored: out of range", w, h);
		} else if (!opts.terminal) {
			log_info("control: resize %ux%u ignored: no terminal", w, h);
		} else if (master_fd >= 0) {
			term_resize(master_fd, w, h);
		} else {
			resize_pending = true;
			pending_w = w;
			pending_h = h;
		}
		break;
	default:
		log_warn("control: unknown message type %u", type);
	}
}

static void try_master(void)
{
	int m = term_recv_master(conn_fd);
	if (m < 0) {
		if (errno != EAGAIN) {
			log_warn("console socket: connection closed without a pty master");
			close(conn_fd);
			conn_fd = -1;
		}
		return;
	}
	master_fd = m;
	close(conn_fd);
	conn_fd = -1;
	close(listen_fd);
	listen_fd = -1;
	term_unlink_socket();
	log_info("received the pty master");
	/* The master is shared by both streams and owned by neither. */
	g_out.src = m;
	g_out.own_src = false;
	if (g_in.active) {
		g_in.dst = m;
		g_in.own_dst = false;
	}
	if (resize_pending)
		term_resize(m, pending_w, pending_h);
	if (eof_pending && g_in.active)
		stream_close_stdin(&g_in);
	else if (eof_pending)
		term_send_eof(m);
}

static void on_runtime_exit(void)
{
	if (opts.terminal && master_fd < 0) {
		/* The runtime sends the master and exits: the connection may still be queued. */
		if (conn_fd < 0 && listen_fd >= 0)
			conn_fd = term_accept(listen_fd);
		if (conn_fd >= 0)
			try_master();
	}
	bool failed = watch[W_RUNTIME].status != 0;
	stream_words_end(&g_err, failed);
	if (failed) {
		char msg[1024];
		runtime_last_error(msg, sizeof msg);
		/* Nothing in its log: what it said on stderr, as much as fits after the rest. */
		if (!msg[0])
			words_last_lines(msg, RUNTIME_WORDS_REPORTED);
		fail("%.256s %s failed (exit status %d)%s%s", opts.runtime, mode_verb(opts.mode),
		     watch[W_RUNTIME].status, msg[0] ? ": " : "", msg);
	}
	log_info("%s %s succeeded", opts.runtime, mode_verb(opts.mode));
	if (opts.terminal && master_fd < 0)
		abandon("console socket", "the runtime did not send a pty master");
	pid_t pid;
	if (read_pid_file(&pid) < 0)
		abandon("read pid file", errstr(errno));
	watch[W_PROCESS].pid = pid;
	int st;
	if (reaper_claim_early(pid, &st)) {
		watch[W_PROCESS].done = true;
		watch[W_PROCESS].status = st;
	}
	/* Before any reaping: if the process already exited it is still a zombie. */
	if (write_starttime(pid) < 0) {
		if (watch[W_PROCESS].done)
			log_info("process %d exited before its start time could be read", (int)pid);
		else
			log_warn("write starttime for pid %d: %s", (int)pid, errstr(errno));
	}
	if (opts.oom) {
		if (opts.mode == MODE_EXEC)
			log_warn("--oom ignored for an exec process: the init's shim reports OOM");
		else if (!watch[W_PROCESS].done)
			oom_fd = oom_start(pid);
	}
	log_info("process pid %d", (int)pid);
	report(READY_OK " %d", (int)pid);
	phase = PH_RUNNING;
	/* Collect what was left unreaped while the runtime ran, the process included. */
	reaper_reap(watch, 2, false);
}

static void on_process_exit(void)
{
	int st = watch[W_PROCESS].status;
	log_info("process %d exited with status %d", (int)watch[W_PROCESS].pid, st);
	if (write_exit_status(st) < 0)
		log_error("write exitStatus: %s", errstr(errno));
	stream_teardown(&g_in);
	long long now = mono_ms();
	stream_drain_begin(&g_out, now);
	stream_drain_begin(&g_err, now);
	phase = PH_DRAIN;
}

/* A reader that stopped reading: what it would have got is dropped, never silently. */
static void give_up_on(struct stream *s)
{
	unsigned long long buffered, unread;
	stream_discard(s, &buffered, &unread);
	log_warn("%s: the reader accepted nothing for %ld ms after the process exited; "
		 "%llu bytes discarded (%llu buffered, %llu unread)",
		 s->name, opts.drain_timeout_ms, buffered + unread, buffered, unread);
	char line[32];
	fmt(line, sizeof line, EVENT_LOST " %s\n", s->name);
	emit(line);
}

/*
 * Applies the drain rules to both output streams. Returns the poll timeout
 * until the next limit, or -2 once no stream has anything left to wait for.
 */
static int drain_timeout(void)
{
	struct stream *out[2] = {&g_out, &g_err};
	enum drain_state state[2];
	long long now = mono_ms(), until = now + 0x7fffffff;
	bool waiting = false;
	for (int i = 0; i < 2; i++) {
		state[i] = stream_drain_state(out[i], now, DRAIN_IDLE_MS, opts.drain_timeout_ms,
					      DRAIN_LEFTOVER_MS, &until);
		if (state[i] == DRAIN_STALLED)
			give_up_on(out[i]);
		waiting |= state[i] == DRAIN_WAIT;
	}
	if (waiting)
		return (int)(until - now);
	for (int i = 0; i < 2; i++) {
		if (state[i] == DRAIN_IDLE)
			log_info("%s: no output for %d ms after the process exited, its pipe still "
				 "open (by a child of the process?)",
				 out[i]->name, DRAIN_IDLE_MS);
		if (state[i] == DRAIN_LEFTOVER)
			log_info("%s: a child of the process still writes %d ms after the exit; "
				 "the process's own output is passed on, the rest is not copied",
				 out[i]->name, DRAIN_LEFTOVER_MS);
	}
	return -2;
}

enum tag { T_SIG, T_CTL, T_LISTEN, T_CONN, T_OOM, T_IN, T_OUT, T_ERR };

static void run_loop(void)
{
	for (;;) {
		/* First: a stream given up on here must not be polled below. */
		int timeout = -1;
		if (phase == PH_DRAIN && (timeout = drain_timeout()) == -2)
			return;
		struct pollfd pfd[10];
		enum tag tags[10];
		nfds_t n = 0;
		int fd;
		short ev;
#define ADD(fd_, ev_, tag_)                                                                        \
	do {                                                                                       \
		pfd[n].fd = (fd_);                                                                 \
		pfd[n].events = (ev_);                                                             \
		pfd[n].revents = 0;                                                                \
		tags[n++] = (tag_);                                                                \
	} while (0)
		ADD(reaper_fd(), POLLIN, T_SIG);
		/* Also while draining: a caller may give up on the output it did not read. */
		ADD(control_fd, POLLIN, T_CTL);
		if (listen_fd >= 0 && conn_fd < 0)
			ADD(listen_fd, POLLIN, T_LISTEN);
		if (conn_fd >= 0)
			ADD(conn_fd, POLLIN, T_CONN);
		if (oom_fd >= 0)
			ADD(oom_fd, POLLIN, T_OOM);
		if (phase != PH_DRAIN && (fd = stream_poll_fd(&g_in, &ev)) >= 0)
			ADD(fd, ev, T_IN);
		if ((fd = stream_poll_fd(&g_out, &ev)) >= 0)
			ADD(fd, ev, T_OUT);
		if ((fd = stream_poll_fd(&g_err, &ev)) >= 0)
			ADD(fd, ev, T_ERR);
#undef ADD

		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll: %s", errstr(errno));
		}
		/* Phase changes wait until every ready descriptor is served: output that
		 * precedes an exit is copied before the exit is handled. */
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			switch (tags[i]) {
			case T_IN:
				stream_step(&g_in);
				break;
			case T_OUT:
				stream_step(&g_out);
				break;
			case T_ERR:
				stream_step(&g_err);
				break;
			case T_LISTEN:
				conn_fd = term_accept(listen_fd);
				break;
			case T_CONN:
				try_master();
				break;
			case T_CTL:
				control_read(control_fd, on_control);
				break;
			case T_OOM:
				oom_check(emit);
				break;
			case T_SIG:
				reaper_reap(watch, 2, phase == PH_STARTING);
				break;
			}
		}
		if (phase == PH_STARTING && watch[W_RUNTIME].done)
			on_runtime_exit();
		if (phase == PH_RUNNING && watch[W_PROCESS].done)
			on_process_exit();
	}
}

/*
 * Descriptors: 0-2 are kept (and opened on /dev/null if closed, so that no
 * file we open lands there, where the runtime's stdio would replace it); the
 * ready fd is moved to a close-on-exec descriptor; everything else inherited
 * is made close-on-exec, so neither the runtime nor the container gets it.
 * Those are not closed: something in this process may own them (a sanitizer
 * runtime opens its log before main), and closing would let our FIFOs take
 * over their numbers.
 */
static void setup_descriptors(void)
{
	for (int i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) < 0) {
			int fd = open("/dev/null", O_RDWR);
			if (fd >= 0 && fd != i) {
				dup2(fd, i);
				close(fd);
			}
		}
	}
	if (opts.ready_fd >= 0 && fcntl(opts.ready_fd, F_GETFD) >= 0) {
		ready_fd = fcntl(opts.ready_fd, F_DUPFD_CLOEXEC, 3);
		if (opts.ready_fd < 3) {
			int fd = open("/dev/null", O_RDWR);
			if (fd >= 0) {
				dup2(fd, opts.ready_fd);
				close(fd);
			}
		} else {
			close(opts.ready_fd);
		}
	}
	/* The raw call: musl has no close_range() wrapper. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		/* Kernels before 5.11: mark them one by one. */
		for (int fd = 3; fd < 1024; fd++) {
			int fl = fcntl(fd, F_GETFD);
			if (fl >= 0)
				fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
		}
	}
}

static int open_fifo(const char *name, const char **err)
{
	struct stat st;
	/* The shim makes its own FIFOs: Node has no mkfifo(3), and a mkfifo(1)
	 * process per start would cost the library more than the shim's syscall. */
	if (mkfifo(name, 0600) < 0 && errno != EEXIST) {
		*err = errstr(errno);
		return -1;
	}
	int fd = open(name, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*err = errstr(errno);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		*err = "not a FIFO";
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--spawner"))
		return spawner_main();
	const char *usage_err = args_parse(argc, argv, &opts);
	if (opts.version) {
		/* The one time the shim writes to its stdout: before it touches anything. */
		static const char line[] = "berth-shim " SHIM_VERSION " (" SHIM_LIBC ")\n";
		ssize_t n;
		do
			n = write(STDOUT_FILENO, line, sizeof line - 1);
		while (n < 0 && errno == EINTR);
		return n == (ssize_t)sizeof line - 1 ? 0 : 1;
	}

	/* The shim outlives its terminal and its caller; none of these may kill it. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);

	setup_descriptors();
	/* EPERM means we already lead a process group (the library started us in a
	 * new session): nothing to detach from. */
	(void)setsid();
	/* Orphans of the runtime (the container process itself) become our children. */
	int subreaper_rc = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	int subreaper_err = errno;

	const char *exit_err = NULL, *control_err = NULL;
	exit_fd = open_fifo(EXIT_FIFO, &exit_err);
	control_fd = open_fifo(CONTROL_FIFO, &control_err);
	log_open();

	if (usage_err)
		fail("%s", usage_err);
	if (opts.ready_fd >= 0 && ready_fd < 0)
		log_error("--ready-fd %d is not an open descriptor", opts.ready_fd);
	if (exit_fd < 0)
		fail("open exit FIFO: %s", exit_err);
	if (control_fd < 0)
		fail("open control FIFO: %s", control_err);
	if (!getcwd(abs_dir, sizeof abs_dir))
		fail("getcwd: %s", errstr(errno));
	if (runtime_init(abs_dir) < 0)
		fail("%s: %s", abs_dir, errstr(errno));
	log_info("berth-shim %s %s (pid %d)", mode_verb(opts.mode), opts.id, (int)getpid());
	if (subreaper_rc < 0)
		fail("PR_SET_CHILD_SUBREAPER: %s", errstr(subreaper_err));
	if (reaper_init() < 0)
		fail("signalfd: %s", errstr(errno));
	if (reserve_exit_status() < 0)
		log_warn("reserve space for exitStatus: %s", errstr(errno));

	char err[512];
	int child[3] = {-1, -1, -1};
	if (stdio_setup(&opts, child, err, sizeof err) < 0)
		fail("%s", err);
	if (opts.terminal && (listen_fd = term_listen(err, sizeof err)) < 0)
		fail("%s", err);

	const char *sock = opts.terminal ? term_socket_path(abs_dir) : NULL;
	pid_t rt = runtime_spawn(&opts, start_action(opts.mode), child, sock);
	int spawn_err = errno;
	/* The runtime (and the container) hold the child ends now; ours would keep
	 * the output pipes from ever reporting EOF. */
	for (int i = 0; i < 3; i++)
		close(child[i]);
	if (rt < 0)
		fail("spawn %.256s: %s", opts.runtime, errstr(spawn_err));
	watch[W_RUNTIME].pid = rt;
	phase = PH_STARTING;

	run_loop();

	stream_teardown(&g_out);
	stream_teardown(&g_err);
	if (master_fd >= 0)
		close(master_fd);
	if (oom_fd >= 0) {
		/* An OOM kill is signalled before the victim's SIGCHLD: report it before "exit". */
		oom_check(emit);
		oom_stop();
	}
	char line[32];
	fmt(line, sizeof line, EVENT_EXIT " %d\n", watch[W_PROCESS].status);
	emit(line);
	/* Once the runtime's container is removed, the library need not check its
	 * state or sweep its cgroups: one runtime process and a dozen cgroup
	 * lookups fewer per container. Removed here when the library allows it
	 * (self_delete.h), by the runtime's delete otherwise or if that failed. */
	if (opts.mode != MODE_EXEC) {
		bool deleted = opts.self_delete && self_delete(&opts, watch[W_PROCESS].pid) == 0;
		if (!deleted)
			deleted = runtime_run_sync(&opts, RT_DELETE, DELETE_TIMEOUT_MS) == 0;
		if (deleted) {
			/* On disk too: a library that watches only after the shim is gone
			 * (a container that exits at once) gets no line. */
			int fd = open(RUNTIME_DELETED_FILE,
				      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
			if (fd >= 0)
				close(fd);
			else
				log_warn("create %s: %s", RUNTIME_DELETED_FILE, errstr(errno));
			emit(EVENT_DELETED "\n");
		}
	}
	log_info("shim exiting");
	return 0;
}
