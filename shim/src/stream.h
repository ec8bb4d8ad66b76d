/*
 * Copying the process's stdio between pipes (or the pty master) and the
 * paths it was given, one chunk at a time (see stream.c).
 */
#ifndef BERTH_STREAM_H
#define BERTH_STREAM_H

#include <stdbool.h>
#include <stddef.h>

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
	bool reopen_src; /* terminal stdin FIFO: reopen on EOF for the next writer */
	bool reopen_dst; /* output FIFO: reopen on the next chunk after EPIPE */
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
/* When a stream last moved data, for the drain's idle limit. */
extern long long g_last_io;

/* Fills child[] with the process's stdio; on failure, err says why. */
int stdio_setup(const struct options *o, int child[3], char *err, size_t errlen);
/* The descriptor to poll for s and the events to wait for, or -1 for none. */
int stream_poll_fd(const struct stream *s, short *events);
void stream_step(struct stream *s);
bool stream_out_done(const struct stream *s);
void stream_close_stdin(struct stream *s);
void stream_teardown(struct stream *s);

#endif
