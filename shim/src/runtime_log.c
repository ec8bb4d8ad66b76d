/*
 * Not a JSON parser: the runtime writes one flat object per line, and only
 * the file's tail is read, so a fixed buffer is enough and a torn first line
 * costs nothing.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "protocol.h"
#include "runtime_log.h"

static unsigned hex_digit(char h)
{
	if (h >= 'a')
		return (unsigned)(h - 'a' + 10);
	if (h >= 'A')
		return (unsigned)(h - 'A' + 10);
	return (unsigned)(h - '0');
}

/* Decodes a JSON string body starting after the opening quote, into one line. */
static void json_unescape_line(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	while (*s && *s != '"' && o + 4 < cap) {
		char c = *s++;
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		c = *s++;
		switch (c) {
		case 'n':
		case 'r':
		case 't':
			out[o++] = ' ';
			break;
		case 'b':
		case 'f':
			break;
		case 'u': {
			unsigned cp = 0;
			int i;
			for (i = 0; i < 4 && s[i]; i++)
				cp = cp * 16 + hex_digit(s[i]);
			s += i;
			if (cp < 0x20)
				out[o++] = ' ';
			else if (cp < 0x80)
				out[o++] = (char)cp;
			else if (cp < 0x800) {
				out[o++] = (char)(0xc0 | (cp >> 6));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			} else {
				/* Surrogates come out as U+FFFD through the logger's validation. */
				out[o++] = (char)(0xe0 | (cp >> 12));
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		}
		case '\0':
			s--;
			break;
		default:
			out[o++] = c;
		}
	}
	out[o] = '\0';
}

void runtime_last_error(char *out, size_t cap)
{
	static char tail[16384];
	out[0] = '\0';
	int fd = open(RUNTIME_LOG_FILE, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof tail - 1 ? size - (off_t)sizeof tail + 1 : 0;
	ssize_t n = size > 0 ? pread(fd, tail, sizeof tail - 1, from) : 0;
	close(fd);
	if (n <= 0)
		return;
	tail[n] = '\0';

	const char *best = NULL, *any = NULL;
	char *line = tail;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		const char *m = strstr(line, "\"msg\":\"");
		if (m) {
			any = m + 7;
			if (strstr(line, "\"level\":\"error\"") ||
			    strstr(line, "\"level\":\"fatal\""))
				best = m + 7;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (best || any)
		json_unescape_line(best ? best : any, out, cap);
}
