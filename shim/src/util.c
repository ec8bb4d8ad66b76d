#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "line.h"
#include "util.h"

long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

bool parse_long(const char *s, long *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* Small files only (pid, stat, memory.events): reads up to cap-1 bytes. */
ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/*
 * Line iterator with a fixed buffer, for files of unbounded size such as
 * mountinfo (overlay mounts can make single lines kilobytes long). Lines that
 * do not fit are skipped: the ones we look for are short.
 */
static char line_space[16384];

int for_each_line(const char *path, int (*cb)(char *line, void *ctx), void *ctx)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct line_buf lines;
	line_init(&lines, line_space, sizeof line_space, '\n');
	char *line;
	size_t len;
	int rc = 0;
	for (;;) {
		size_t room;
		char *to = line_room(&lines, &room);
		ssize_t n = read(fd, to, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		line_filled(&lines, (size_t)n);
		while ((line = line_next(&lines, &len)))
			if ((rc = cb(line, ctx)) != 0)
				goto out;
	}
	if ((line = line_rest(&lines, &len)))
		rc = cb(line, ctx);
out:
	close(fd);
	return rc;
}

bool join_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = fmt(out, cap, "%s/%s", dir, name);
	return n > 0 && (size_t)n < cap;
}
