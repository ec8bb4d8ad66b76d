#include <string.h>

#include "line.h"

void line_init(struct line_buf *lb, char *buf, size_t cap, char sep)
{
	memset(lb, 0, sizeof *lb);
	lb->buf = buf;
	lb->cap = cap;
	lb->sep = sep;
}

bool line_full(const struct line_buf *lb)
{
	return lb->start == 0 && lb->len == lb->cap - 1;
}

char *line_room(struct line_buf *lb, size_t *room)
{
	if (lb->start > 0) {
		memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
		lb->len -= lb->start;
		lb->start = 0;
	}
	if (line_full(lb)) {
		/* One line fills it all and has not ended: it cannot be handed out whole. */
		if (!lb->skipping)
			lb->dropped++;
		lb->skipping = true;
		lb->len = 0;
	}
	*room = lb->cap - 1 - lb->len;
	return lb->buf + lb->len;
}

void line_filled(struct line_buf *lb, size_t n)
{
	lb->len += n;
}

char *line_next(struct line_buf *lb, size_t *len)
{
	for (;;) {
		char *line = lb->buf + lb->start;
		char *end = memchr(line, lb->sep, lb->len - lb->start);
		if (!end)
			return NULL;
		*end = '\0';
		lb->start = (size_t)(end - lb->buf) + 1;
		if (lb->skipping) {
			/* The end of a dropped line. */
			lb->skipping = false;
			continue;
		}
		*len = (size_t)(end - line);
		return line;
	}
}

char *line_rest(struct line_buf *lb, size_t *len)
{
	char *line = lb->buf + lb->start;
	size_t n = lb->len - lb->start;
	bool skipped = lb->skipping;
	lb->start = lb->len = 0;
	lb->skipping = false;
	if (!n || skipped)
		return NULL;
	line[n] = '\0';
	*len = n;
	return line;
}
