#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "fmt.h"
#include "spawner_reply.h"

#define LINE_MAX_BYTES 1264

void reply_bytes(const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDOUT_FILENO, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(0);
		off += (size_t)w;
	}
}

void reply(const char *format, ...)
{
	char line[LINE_MAX_BYTES];
	va_list ap;
	va_start(ap, format);
	size_t n = fmt_line(line, sizeof line, format, ap);
	va_end(ap);
	reply_bytes(line, n);
}

long parse_id(const char *field)
{
	long id = 0;
	for (const char *p = field; *p; p++)
		id = id * 10 + (*p >= '0' && *p <= '9' ? *p - '0' : 0);
	return id;
}
