/*
 * shim-log.json: one JSON object per line. Messages can carry arbitrary bytes
 * (paths, runtime output), so they are escaped and any invalid UTF-8 is
 * replaced, keeping every line valid JSON for the TypeScript reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "protocol.h"

static int log_fd = -1;

void log_open(void)
{
	log_fd = open(SHIM_LOG_FILE, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Escapes in into out as JSON string content; truncates rather than overflow. */
static size_t json_escape(char *out, size_t cap, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n;) {
		char tmp[8];
		size_t tl = 0, adv = 1;
		unsigned c = s[i];
		if (c == '"' || c == '\\') {
			tmp[tl++] = '\\';
			tmp[tl++] = (char)c;
		} else if (c == '\n') {
			tmp[tl++] = '\\';
			tmp[tl++] = 'n';
		} else if (c == '\t') {
			tmp[tl++] = '\\';
			tmp[tl++] = 't';
		} else if (c == '\r') {
			tmp[tl++] = '\\';
			tmp[tl++] = 'r';
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(tmp, "\\u00", 4);
			tmp[4] = hex[c >> 4];
			tmp[5] = hex[c & 15];
			tl = 6;
		} else if (c < 0x80) {
			tmp[tl++] = (char)c;
		} else {
			size_t ul = utf8_len(s + i, n - i);
			if (ul == 0) {
				memcpy(tmp, "\\ufffd", 6);
				tl = 6;
			} else {
				memcpy(tmp, s + i, ul);
				tl = ul;
				adv = ul;
			}
		}
		if (o + tl >= cap)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
		i += adv;
	}
	out[o] = '\0';
	return o;
}

/* Days since 1970-01-01 to a Gregorian date (H. Hinnant's algorithm): UTC
 * needs no time-zone data, unlike gmtime, which loads /etc/localtime. */
static void civil_from_days(long long z, int *year, unsigned *month, unsigned *day)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*day = doy - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = (int)(yoe + era * 400 + (*month <= 2));
}

void log_msg(const char *level, const char *format, ...)
{
	static char msg[2048];
	static char esc[4096];
	static char line[4096 + 128];
	if (log_fd < 0)
		return;
	int saved = errno;
	va_list ap;
	va_start(ap, format);
	fmt_v(msg, sizeof msg, format, ap);
	va_end(ap);
	json_escape(esc, sizeof esc, msg);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
	int y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	int n = fmt(
		line, sizeof line,
		"{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%04d-%02u-%02uT%02d:%02d:%02d.%09ldZ\"}\n",
		level, esc, y, mo, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
		ts.tv_nsec);
	if (n > 0 && (size_t)n < sizeof line) {
		/* One write per line: O_APPEND keeps lines whole. */
		ssize_t w;
		do
			w = write(log_fd, line, (size_t)n);
		while (w < 0 && errno == EINTR);
	}
	errno = saved;
}
