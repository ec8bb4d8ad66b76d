/*
 * berth-shim: one small monitor per container process. See ../PROTOCOL.md.
 *
 * Everything is sized at compile time: after startup the shim allocates no
 * memory, so an idle shim stays small and nothing in the signal path can fail
 * for lack of memory.
 */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "protocol.h"

#define MAX_EXTRA_ARGS 32
#define PATH_BUF 4096

enum shim_mode { MODE_CREATE, MODE_RUN, MODE_EXEC, MODE_RESTORE };

struct options {
	enum shim_mode mode;
	const char *stdin_path;
	const char *stdout_path;
	const char *stderr_path;
	bool terminal;
	bool no_pivot;
	bool oom;
	const char *runtime_args[MAX_EXTRA_ARGS];
	int n_runtime_args;
	const char *restore_args[MAX_EXTRA_ARGS];
	int n_restore_args;
	const char *checkpoint;
	long stdio_timeout_ms;
	int ready_fd;
	const char *id;
	const char *bundle;
	const char *runtime;
};

/* Absolute path of the process folder (the shim's working directory). */
extern char g_abs[PATH_BUF];

/* fmt.c: snprintf/strerror without glibc's stdio and locale machinery */
#include <stdarg.h>
int fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
int fmt_v(char *buf, size_t cap, const char *f, va_list ap) __attribute__((format(printf, 3, 0)));
const char *errstr(int e);

/* util.c */
long long mono_ms(void);
int set_nonblock(int fd);
bool parse_long(const char *s, long *out);
ssize_t read_file(const char *path, char *buf, size_t cap);
int for_each_line(const char *path, int (*cb)(char *line, void *ctx), void *ctx);
bool join_path(char *out, size_t cap, const char *dir, const char *name);

/* log.c */
void log_open(void);
void log_msg(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

/* reaper.c */
struct child_watch {
	pid_t pid;
	bool done;
	int status; /* exit code, or 128+signal */
};
int reaper_init(void);
int reaper_fd(void);
void reaper_reap(struct child_watch *watches, int n, bool hold_others);
bool reaper_claim_early(pid_t pid, int *status);
int exit_status_of(int wait_status);

/* runtime.c */
enum rt_action { RT_CREATE, RT_RUN, RT_EXEC, RT_RESTORE, RT_DELETE, RT_DELETE_FORCE };
pid_t runtime_spawn(const struct options *o, enum rt_action action,
		    const int stdio[3], const char *console_socket);
void runtime_last_error(char *out, size_t cap);
int runtime_run_sync(const struct options *o, enum rt_action action, long timeout_ms);

/* stdio.c */
enum stream_kind { S_IN, S_OUT };
struct stream {
	enum stream_kind kind;
	const char *name;
	const char *path;  /* the FIFO to reopen, when reopen_src/reopen_dst */
	int src;
	int dst;
	bool own_src;
	bool own_dst;
	bool reopen_src;   /* terminal stdin FIFO: reopen on EOF for the next writer */
	bool reopen_dst;   /* output FIFO: reopen on the next chunk after EPIPE */
	bool active;
	bool src_done;
	bool close_req;
	bool warned;
	char *buf;
	size_t cap;
	size_t off;
	size_t len;
};
extern struct stream g_in, g_out, g_err;
extern long long g_last_io;
int stdio_setup(const struct options *o, int child[3], char *err, size_t errlen);
int stream_poll_fd(const struct stream *s, short *events);
void stream_step(struct stream *s);
bool stream_out_done(const struct stream *s);
void stream_close_stdin(struct stream *s);
void stream_teardown(struct stream *s);

/* terminal.c */
int term_listen(char *err, size_t errlen);
int term_accept(int listen_fd);
int term_recv_master(int conn_fd);
void term_resize(int master, unsigned width, unsigned height);
void term_send_eof(int master);
void term_unlink_socket(void);
const char *term_socket_path(void);

/* control.c */
typedef void (*control_cb)(unsigned type, unsigned width, unsigned height);
void control_read(int fd, control_cb cb);

/* statusfile.c */
int write_atomic(const char *name, const char *content);
int write_exit_status(int status);
int write_starttime(pid_t pid);
int read_pid_file(pid_t *out);

/* oom.c */
int oom_start(pid_t pid);
void oom_check(void (*emit)(const char *line));
void oom_stop(void);

#endif
