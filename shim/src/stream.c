/*
 * Stdio plumbing. Files and /dev/null go to the process directly; FIFOs are
 * never given to the process, because a FIFO whose reader goes away would
 * SIGPIPE it, and a supervisor restart must be able to reattach. Instead the
 * process gets a pipe (or the pty) and the shim copies, one chunk at a time:
 * a chunk is not read from the source before the previous one is written, so
 * a slow reader slows the process down instead of growing a buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "runtime_words.h"
#include "stream.h"
#include "terminal.h"
#include "util.h"

#define IN_BUF 8192
#define OUT_BUF 16384

static char in_buf[IN_BUF], out_buf[OUT_BUF], err_buf[OUT_BUF];

#define STREAM(kind_, name_, buf_)                                                                 \
	{                                                                                          \
		.kind = kind_, .name = name_, .src = -1, .dst = -1, .buf = buf_,                   \
		.cap = sizeof buf_                                                                 \
	}
struct stream g_in = STREAM(S_IN, "stdin", in_buf);
struct stream g_out = STREAM(S_OUT, "stdout", out_buf);
struct stream g_err = STREAM(S_OUT, "stderr", err_buf);
#undef STREAM

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* O_NONBLOCK open of a FIFO for writing fails with ENXIO until a reader exists. */
static int open_fifo_writer(const char *path, long long deadline)
{
	long delay = 1;
	for (;;) {
		int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			return fd;
		if (errno == EINTR)
			continue;
		if (errno != ENXIO)
			return -1;
		long long left = deadline - mono_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		sleep_ms(delay < left ? delay : (long)left);
		if (delay < 50)
			delay *= 2;
	}
}

static int open_null(int flags, char *err, size_t errlen)
{
	int fd = open("/dev/null", flags | O_CLOEXEC);
	if (fd < 0)
		fmt(err, errlen, "open /dev/null: %s", errstr(errno));
	return fd;
}

static int setup_in(const struct options *o, int *child, char *err, size_t errlen)
{
	const char *path = o->stdin_path;
	struct stat st;
	if (!path || !*path) {
		*child = open_null(O_RDONLY, err, errlen);
		return *child < 0 ? -1 : 0;
	}
	if (stat(path, &st) < 0) {
		fmt(err, errlen, "stdin %.256s: %s", path, errstr(errno));
		return -1;
	}
	if (S_ISFIFO(st.st_mode)) {
		/* Non-blocking: no writer is needed to open, and poll reports no
		 * hangup until a first writer has come and gone. */
		int fifo = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fifo < 0) {
			fmt(err, errlen, "open stdin %.256s: %s", path, errstr(errno));
			return -1;
		}
		g_in.src = fifo;
		g_in.own_src = true;
		g_in.path = path;
		g_in.active = true;
		if (o->terminal) {
			g_in.reopen_src = true;
			g_in.eof_to_terminal = true;
			/* dst is the pty master, set when it arrives. */
			*child = open_null(O_RDONLY, err, errlen);
			return *child < 0 ? -1 : 0;
		}
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			fmt(err, errlen, "pipe: %s", errstr(errno));
			return -1;
		}
		set_nonblock(p[1]);
		g_in.dst = p[1];
		g_in.own_dst = true;
		*child = p[0];
		return 0;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fmt(err, errlen, "open stdin %.256s: %s", path, errstr(errno));
		return -1;
	}
	if (!o->terminal) {
		*child = fd;
		return 0;
	}
	g_in.src = fd;
	g_in.own_src = true;
	g_in.active = true;
	*child = open_null(O_RDONLY, err, errlen);
	return *child < 0 ? -1 : 0;
}

/*
 * pty: the stream copies from the pty master (set when it arrives), so even
 * /dev/null becomes a destination: the master must be read or the process
 * blocks once the pty buffer fills.
 */
static int setup_out(const struct options *o, struct stream *s, const char *path, bool pty,
		     long long deadline, int *child, char *err, size_t errlen)
{
	struct stat st;
	int fd;
	if (!path || !*path) {
		if (!pty)
			goto null;
		if ((fd = open_null(O_WRONLY, err, errlen)) < 0)
			return -1;
		s->dst = fd;
		s->own_dst = true;
		s->active = true;
		goto null;
	}
	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
		fd = open_fifo_writer(path, deadline);
		if (fd < 0) {
			if (errno == ETIMEDOUT)
				fmt(err, errlen, "%s FIFO %.256s: no reader after %ld ms", s->name,
				    path, o->stdio_timeout_ms);
			else
				fmt(err, errlen, "open %s %.256s: %s", s->name, path,
				    errstr(errno));
			return -1;
		}
		s->reopen_dst = true;
		s->path = path;
	} else {
		/* Append: stdout and stderr may share the file, and a restart must not truncate. */
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0) {
			fmt(err, errlen, "open %s %.256s: %s", s->name, path, errstr(errno));
			return -1;
		}
		if (!pty) {
			*child = fd;
			return 0;
		}
	}
	s->dst = fd;
	s->own_dst = true;
	s->active = true;
	if (pty)
		goto null;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		fmt(err, errlen, "pipe: %s", errstr(errno));
		return -1;
	}
	set_nonblock(p[0]);
	s->src = p[0];
	s->own_src = true;
	*child = p[1];
	return 0;
null:
	*child = open_null(O_WRONLY, err, errlen);
	return *child < 0 ? -1 : 0;
}

/* stderr on /dev/null: a pipe whose content is dropped, read for the runtime's words. */
static int setup_words_pipe(struct stream *s, int *child, char *err, size_t errlen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		fmt(err, errlen, "pipe: %s", errstr(errno));
		return -1;
	}
	set_nonblock(p[0]);
	s->src = p[0];
	s->own_src = true;
	s->active = true;
	s->discard = true;
	s->capture = true;
	*child = p[1];
	return 0;
}

/* Where the runtime's words will be: through the pipe s copies, or in the file it was given. */
static void setup_words(struct stream *s, const char *path, int child)
{
	struct stat st;
	if (s->active && s->src >= 0)
		s->capture = true;
	else if (!s->active && fstat(child, &st) == 0 && S_ISREG(st.st_mode)) {
		s->words_file = path;
		s->words_from = st.st_size;
	}
}

int stdio_setup(const struct options *o, int child[3], char *err, size_t errlen)
{
	long long deadline = mono_ms() + o->stdio_timeout_ms;
	if (setup_in(o, &child[0], err, errlen) < 0)
		return -1;
	if (setup_out(o, &g_out, o->stdout_path, o->terminal, deadline, &child[1], err, errlen) < 0)
		return -1;
	/* With a terminal stderr is merged into the pty: the stderr path is unused. */
	const char *err_path = o->terminal ? NULL : o->stderr_path;
	/* The runtime's stderr is the process's: on /dev/null its words would be lost. With a
	 * terminal only the runtime has it; an exec's leftover child keeps /dev/null (a pipe would
	 * lose its reader with the shim). */
	bool null_err = !err_path || !*err_path || !strcmp(err_path, "/dev/null");
	if (null_err && (o->terminal || o->mode != MODE_EXEC)) {
		if (setup_words_pipe(&g_err, &child[2], err, errlen) < 0)
			return -1;
	} else if (setup_out(o, &g_err, err_path, false, deadline, &child[2], err, errlen) < 0) {
		return -1;
	} else {
		setup_words(&g_err, err_path, child[2]);
	}
	g_in.last_io = g_out.last_io = g_err.last_io = mono_ms();
	return 0;
}

int stream_poll_fd(const struct stream *s, short *events)
{
	if (!s->active)
		return -1;
	/* Terminal stdin before the pty master arrives: leave the data in the FIFO. */
	if (s->kind == S_IN && s->dst < 0)
		return -1;
	if (s->len > s->off) {
		*events = POLLOUT;
		return s->dst;
	}
	if (s->src >= 0 && !s->src_done) {
		*events = POLLIN;
		return s->src;
	}
	return -1;
}

bool stream_out_done(const struct stream *s)
{
	return !s->active || (s->src < 0 && s->len == s->off);
}

void stream_teardown(struct stream *s)
{
	if (s->own_src && s->src >= 0)
		close(s->src);
	if (s->own_dst && s->dst >= 0)
		close(s->dst);
	s->src = s->dst = -1;
	s->off = s->len = 0;
	s->active = false;
}

/* The process sees EOF on stdin once the shim closes its end of the pipe. */
static void stdin_gone(struct stream *s)
{
	log_info("stdin closed");
	stream_teardown(s);
}

/* A close request has delivered what the FIFO held. */
static void finish_stdin(struct stream *s)
{
	if (s->eof_to_terminal && s->dst >= 0) {
		/* The terminal stays open: its reader gets end-of-file, after all the input. */
		log_info("stdin: end-of-file sent to the terminal");
		term_send_eof(s->dst);
		s->close_req = false;
		s->close_drained = 0;
		return;
	}
	stdin_gone(s);
}

static bool reopen_dst(struct stream *s)
{
	if (!s->reopen_dst)
		return false;
	int fd = open(s->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	s->dst = fd;
	log_info("%s: reader is back on %s", s->name, s->path);
	return true;
}

static void dst_failed(struct stream *s, int err)
{
	if (s->kind == S_IN) {
		/* The process closed its stdin (or the pty went away): nothing more to deliver. */
		if (err != EPIPE && err != EIO)
			log_warn("%s: write: %s", s->name, errstr(err));
		stdin_gone(s);
		return;
	}
	if (err == EPIPE && s->reopen_dst) {
		log_info("%s: reader of %s went away; discarding output until it reopens", s->name,
			 s->path);
		close(s->dst);
		s->dst = -1;
		return;
	}
	if (!s->warned) {
		log_warn("%s: write: %s; discarding output", s->name, errstr(err));
		s->warned = true;
	}
}

static void flush(struct stream *s);

/* Past this much read after a close request, a writer that keeps writing is cut off. */
#define CLOSE_DRAIN_MAX (1 << 20)

/*
 * Closing stdin on request: what a writer already put in the FIFO is still
 * delivered ("EOF after what was written"), then the process's pipe closes.
 * Reads until the FIFO is empty for now; a chunk the pipe cannot take yet
 * waits for the poll loop, which comes back here (stream_step).
 */
static void drain_closing(struct stream *s)
{
	while (s->active) {
		if (s->len > s->off) {
			flush(s);
			if (!s->active || s->len > s->off)
				return;
		}
		if (s->src < 0 || s->src_done || s->close_drained >= CLOSE_DRAIN_MAX) {
			finish_stdin(s);
			return;
		}
		ssize_t n = read(s->src, s->buf, s->cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Empty for now (EAGAIN), no writer left (EOF), or an error: done. */
			finish_stdin(s);
			return;
		}
		s->close_drained += (size_t)n;
		s->off = 0;
		s->len = (size_t)n;
		s->last_io = mono_ms();
	}
}

static void flush(struct stream *s)
{
	while (s->off < s->len) {
		if (s->dst < 0 && !reopen_dst(s))
			break;
		ssize_t n = write(s->dst, s->buf + s->off, s->len - s->off);
		if (n > 0) {
			s->off += (size_t)n;
			s->last_io = mono_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		dst_failed(s, n < 0 ? errno : EIO);
		break;
	}
	if (!s->active)
		return;
	/* Written, or discarded for want of a reader. */
	s->off = s->len = 0;
	if (s->kind == S_IN && s->src_done)
		finish_stdin(s);
}

static void src_eof(struct stream *s)
{
	if (s->own_src)
		close(s->src);
	s->src = -1;
	if (s->reopen_src && !s->close_req) {
		/* Terminal stdin: a fresh open reports no hangup until the next writer comes. */
		s->src = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (s->src >= 0)
			return;
		log_warn("%s: reopen %s: %s", s->name, s->path, errstr(errno));
	}
	s->src_done = true;
	if (s->kind == S_IN && s->len == s->off)
		finish_stdin(s);
}

void stream_step(struct stream *s)
{
	if (!s->active)
		return;
	if (s->kind == S_IN && s->close_req) {
		drain_closing(s);
		return;
	}
	if (s->len > s->off) {
		flush(s);
		return;
	}
	if (s->src < 0 || s->src_done)
		return;
	ssize_t n = read(s->src, s->buf, s->cap);
	if (n > 0) {
		if (s->capture)
			words_add(s->buf, (size_t)n);
		s->last_io = mono_ms();
		if (s->draining) {
			s->chunk_leftover = s->read_since_exit >= s->own_left;
			s->read_since_exit += (unsigned long long)n;
		}
		if (s->discard)
			return;
		s->off = 0;
		s->len = (size_t)n;
		flush(s);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EIO is how a pty master reports that the last slave is closed. */
	if (n < 0 && errno != EIO)
		log_warn("%s: read: %s", s->name, errstr(errno));
	src_eof(s);
}

void stream_close_stdin(struct stream *s)
{
	if (!s->active)
		return;
	s->close_req = true;
	if (s->len == s->off)
		drain_closing(s);
}

void stream_drain_begin(struct stream *s, long long now)
{
	s->last_io = now;
	s->draining = true;
	s->exit_at = now;
	s->read_since_exit = 0;
	s->chunk_leftover = false;
	/* The process is gone: no byte of its own can join the pipe after this count. */
	int queued = 0;
	if (s->src >= 0 && ioctl(s->src, FIONREAD, &queued) == 0 && queued >= 0)
		s->own_left = (unsigned long long)queued;
	else
		s->own_left = ~0ULL; /* unknown: never taken for a leftover's */
}

enum drain_state stream_drain_state(const struct stream *s, long long now, long idle_ms,
				    long stall_ms, long leftover_ms, long long *until)
{
	if (stream_out_done(s))
		return DRAIN_DONE;
	bool pending = s->len > s->off;
	bool own_done = pending ? s->chunk_leftover : s->read_since_exit >= s->own_left;
	if (own_done) {
		long long cut = s->exit_at + leftover_ms;
		if (now >= cut)
			return DRAIN_LEFTOVER;
		if (cut < *until)
			*until = cut;
	}
	long long end = s->last_io + (pending ? stall_ms : idle_ms);
	if (now >= end)
		return pending ? DRAIN_STALLED : DRAIN_IDLE;
	if (end < *until)
		*until = end;
	return DRAIN_WAIT;
}

/*
 * A pipe holds 64 KiB by default and at most 1 MiB (pipe-max-size): twice
 * that in reads is enough to empty it, and bounds the loop when a leftover
 * child keeps writing.
 */
#define DISCARD_READS_MAX (2 * (1 << 20) / OUT_BUF)

void stream_discard(struct stream *s, unsigned long long *buffered, unsigned long long *unread)
{
	*buffered = s->len - s->off;
	*unread = 0;
	s->off = s->len = 0;
	for (int i = 0; s->src >= 0 && !s->src_done && i < DISCARD_READS_MAX; i++) {
		ssize_t n = read(s->src, s->buf, s->cap);
		if (n > 0)
			*unread += (unsigned long long)n;
		else if (!(n < 0 && errno == EINTR))
			break; /* empty for now (EAGAIN), EOF, or EIO from a pty master */
	}
	stream_teardown(s);
}

size_t stream_drop_output(struct stream *s)
{
	if (s->kind != S_OUT || !s->active)
		return 0;
	size_t held = s->len - s->off;
	s->off = s->len = 0;
	s->discard = true;
	return held;
}

void stream_words_end(struct stream *s, bool failed)
{
	if (failed && s->capture) {
		/* The runtime has exited: its last words are in the pipe, unless a child of it
		 * holds the pipe and writes on (read without blocking, bounded). */
		char buf[4096];
		for (int i = 0; s->src >= 0 && !s->src_done && i < DISCARD_READS_MAX; i++) {
			ssize_t n = read(s->src, buf, sizeof buf);
			if (n > 0)
				words_add(buf, (size_t)n);
			else if (!(n < 0 && errno == EINTR))
				break;
		}
	}
	if (failed && s->words_file)
		words_add_file(s->words_file, s->words_from);
	s->capture = false;
	s->words_file = NULL;
}
