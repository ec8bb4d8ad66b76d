/*
 * Copying the process's stdio between pipes (or the pty master) and the
 * paths it was given, one chunk at a time (see stream.c).
 */
#ifndef BERTH_STREAM_H
#define BERTH_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "args.h"

enum stream_kind { S_IN, S_OUT };

struct stream {
	enum stream_kind kind;
	const char *name;
	const char *path; /* the FIFO to reopen, when reopen_src/reopen_dst */
	int src;
	int dst;
	bool own_src;
	bool own_dst;
	bool reopen_src;      /* terminal stdin FIFO: reopen on EOF for the next writer */
	bool reopen_dst;      /* output FIFO: reopen on the next chunk after EPIPE */
	bool eof_to_terminal; /* terminal stdin: a close sends dst (the pty master) EOF, then goes
				 on */
	bool active;
	bool src_done;
	bool close_req;
	size_t close_drained; /* stdin: bytes delivered since close was requested */
	bool warned;
	char *buf;
	size_t cap;
	size_t off;
	size_t len;
	/* When data last moved (read from src or accepted by dst), for the drain's limits. */
	long long last_io;
	/* After the process exited: what its pipe held then is the last of its own output;
	 * read beyond that comes from a leftover child that holds the pipe. */
	bool draining;
	long long exit_at;
	unsigned long long own_left; /* bytes in the pipe at the exit (FIONREAD) */
	unsigned long long read_since_exit;
	bool chunk_leftover; /* the buffered chunk was read after all of the own output */
	/* Output nobody wants: read and dropped, never written (stderr on /dev/null, read for
	 * the runtime's words; or output discarded on request). */
	bool discard;
	/* While the runtime runs: what is read is also kept as its words (runtime_words.h). */
	bool capture;
	/* stderr on a regular file: the runtime's words are what the file gained while it ran. */
	const char *words_file;
	off_t words_from;
};

extern struct stream g_in, g_out, g_err;

/* Fills child[] with the process's stdio; on failure, err says why. */
int stdio_setup(const struct options *o, int child[3], char *err, size_t errlen);
/* The descriptor to poll for s and the events to wait for, or -1 for none. */
int stream_poll_fd(const struct stream *s, short *events);
void stream_step(struct stream *s);
bool stream_out_done(const struct stream *s);
void stream_close_stdin(struct stream *s);
void stream_teardown(struct stream *s);
/*
 * Nobody wants s's output any more: what it holds and everything it reads
 * from now on is dropped. Returns the bytes it held.
 */
size_t stream_drop_output(struct stream *s);
/*
 * The runtime has exited: s no longer keeps what it reads as the runtime's
 * words; if the runtime failed, what it wrote last is collected first.
 */
void stream_words_end(struct stream *s, bool failed);

/*
 * After the process exited, an output stream is done once its source reached
 * EOF and its buffer is written; idle once nothing is buffered and the source
 * (which a leftover child may hold open) has been quiet for idle_ms; stalled
 * once its reader has accepted nothing for stall_ms while output is pending;
 * else waiting, until *until at the latest (only ever lowered).
 */
enum drain_state { DRAIN_DONE, DRAIN_IDLE, DRAIN_WAIT, DRAIN_STALLED, DRAIN_LEFTOVER };
/* Starts both limits' clocks at the exit: the reader gets stall_ms from there. */
void stream_drain_begin(struct stream *s, long long now);
/*
 * DRAIN_LEFTOVER: all of the process's own output has been passed on and
 * leftover_ms have gone since the exit, yet a leftover child keeps writing.
 */
enum drain_state stream_drain_state(const struct stream *s, long long now, long idle_ms,
				    long stall_ms, long leftover_ms, long long *until);
/*
 * Drops what a stalled stream still holds: *buffered bytes in the shim, *unread
 * bytes read and discarded from the source without blocking; then tears it down.
 */
void stream_discard(struct stream *s, unsigned long long *buffered, unsigned long long *unread);

#endif
