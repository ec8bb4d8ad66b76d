/*
 * Line framing over a caller's fixed buffer, for every reader of lines in the
 * shim: control lines, /proc and cgroup files, a shim's ready line, and the
 * spawner's NUL-separated request fields. No I/O here: the caller reads into
 * line_room() and tells line_filled(); line_next() hands out complete lines
 * in place. A line longer than the buffer can hold is dropped whole (counted
 * in `dropped`), never handed out in pieces that could be misread.
 */
#ifndef BERTH_LINE_H
#define BERTH_LINE_H

#include <stdbool.h>
#include <stddef.h>

struct line_buf {
	char *buf;
	size_t cap;    /* bytes of buf: lines up to cap - 1 bytes fit, with their NUL */
	size_t start;  /* first byte not handed out yet */
	size_t len;    /* bytes held */
	char sep;      /* '\n', or '\0' for NUL-separated fields */
	bool skipping; /* the rest of a dropped line is still coming */
	unsigned long dropped;
};

void line_init(struct line_buf *lb, char *buf, size_t cap, char sep);

/*
 * Where the next read goes, and *room how many bytes it may take (at least
 * one). Moves what is held to the front first; a buffer full of one
 * unfinished line drops it (and the rest of it as it comes).
 */
char *line_room(struct line_buf *lb, size_t *room);

/* n bytes were read into the room. */
void line_filled(struct line_buf *lb, size_t n);

/*
 * The next complete line, its separator replaced by a NUL, and its length in
 * *len (it may hold NULs of its own); NULL when no complete line is held.
 * Valid until the next line_room().
 */
char *line_next(struct line_buf *lb, size_t *len);

/* At the end of input: what is left unterminated, NUL-terminated, or NULL (also for the end of a
 * dropped line). Empties the buffer. */
char *line_rest(struct line_buf *lb, size_t *len);

/* Whether the buffer holds as much of one line as it can (no separator in it). */
bool line_full(const struct line_buf *lb);

#endif
