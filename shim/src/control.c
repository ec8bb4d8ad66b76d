/*
 * Control FIFO: lines "TYPE WIDTH HEIGHT\n". The shim holds the FIFO O_RDWR,
 * so it never sees EOF and any number of writers may come and go. A line that
 * does not fit the buffer is dropped whole rather than misparsed in pieces.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "line.h"
#include "log.h"

static char buf[256];
static struct line_buf lines;

static bool parse_uint(const char **p, unsigned *out)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	unsigned long v = 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 0xffffffffUL)
			return false;
		s++;
	}
	*out = (unsigned)v;
	*p = s;
	return true;
}

static void handle_line(char *line, size_t n, control_cb cb)
{
	/* A NUL would end the line early for the parser: "0 0 0\0junk" is not "0 0 0". */
	if (memchr(line, '\0', n)) {
		log_warn("control: ignoring malformed line \"%s\" (holds a NUL)", line);
		return;
	}
	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	const char *p = line;
	unsigned t, w, h;
	if (n == 0)
		return;
	if (!parse_uint(&p, &t) || !parse_uint(&p, &w) || !parse_uint(&p, &h)) {
		log_warn("control: ignoring malformed line \"%s\"", line);
		return;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p) {
		log_warn("control: ignoring malformed line \"%s\"", line);
		return;
	}
	cb(t, w, h);
}

void control_read(int fd, control_cb cb)
{
	if (!lines.buf)
		line_init(&lines, buf, sizeof buf, '\n');
	for (;;) {
		size_t room;
		unsigned long dropped = lines.dropped;
		char *to = line_room(&lines, &room);
		if (lines.dropped != dropped)
			log_warn("control: line too long; dropped");
		ssize_t n = read(fd, to, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line_filled(&lines, (size_t)n);
		char *line;
		size_t len;
		while ((line = line_next(&lines, &len)))
			handle_line(line, len, cb);
	}
}
