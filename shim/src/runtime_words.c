/*
 * A runtime may say why it failed on its stderr only (a wrapper script, a
 * runtime that ignores --log); its stderr is the process's, which the shim
 * copies, or a file the shim can read back. Only a tail is kept: a runtime
 * may print pages, and the cause comes last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "runtime_words.h"

/* U+2026, as the library marks a cut in the words of the runtime calls it runs itself. */
#define ELLIPSIS "\xe2\x80\xa6"

static char words[WORDS_MAX];
static size_t words_len;
/* Bytes were dropped from the start: its first line may be a piece. */
static bool words_cut;

void words_add(const char *p, size_t n)
{
	if (n >= WORDS_MAX) {
		memcpy(words, p + n - WORDS_MAX, WORDS_MAX);
		words_len = WORDS_MAX;
		words_cut = true;
		return;
	}
	if (words_len + n > WORDS_MAX) {
		size_t drop = words_len + n - WORDS_MAX;
		memmove(words, words + drop, words_len - drop);
		words_len -= drop;
		words_cut = true;
	}
	memcpy(words + words_len, p, n);
	words_len += n;
}

void words_add_file(const char *path, off_t from)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end > from + WORDS_MAX) {
		from = end - WORDS_MAX;
		words_cut = true;
	}
	char buf[WORDS_MAX];
	ssize_t n;
	do
		n = end > from ? pread(fd, buf, (size_t)(end - from), from) : 0;
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n > 0)
		words_add(buf, (size_t)n);
}

/* Past a cut, the first byte that starts a UTF-8 sequence. */
static size_t char_start(const char *p, size_t i, size_t len)
{
	while (i < len && ((unsigned char)p[i] & 0xc0) == 0x80)
		i++;
	return i;
}

void words_last_lines(char *out, size_t cap)
{
	/* Each newline may become two bytes ("; "). */
	static char joined[2 * WORDS_MAX + sizeof ELLIPSIS];
	size_t o = 0, i = 0;
	out[0] = '\0';
	if (cap < 2 * sizeof ELLIPSIS)
		return;
	bool cut = words_cut;
	if (cut) {
		/* Start at the first whole line, unless the tail is all one line. */
		const char *nl = memchr(words, '\n', words_len);
		if (nl && (size_t)(nl - words) + 1 < words_len)
			i = (size_t)(nl - words) + 1;
		i = char_start(words, i, words_len);
	}
	bool line_open = false, separate = false;
	for (; i < words_len; i++) {
		char c = words[i];
		if (c == '\n' || c == '\r') {
			separate |= line_open;
			line_open = false;
			continue;
		}
		if (!line_open && (c == ' ' || c == '\t'))
			continue; /* a line's leading blanks */
		if (separate) {
			joined[o++] = ';';
			joined[o++] = ' ';
			separate = false;
		}
		joined[o++] = c == '\0' ? ' ' : c;
		line_open = true;
	}
	while (o > 0 && (joined[o - 1] == ' ' || joined[o - 1] == '\t'))
		o--;
	if (o == 0)
		return;
	size_t from = 0;
	if (o + (cut ? sizeof ELLIPSIS - 1 : 0) > cap - 1) {
		from = char_start(joined, o - (cap - sizeof ELLIPSIS), o);
		cut = true;
	}
	size_t n = 0;
	if (cut) {
		memcpy(out, ELLIPSIS, sizeof ELLIPSIS - 1);
		n = sizeof ELLIPSIS - 1;
	}
	memcpy(out + n, joined + from, o - from);
	out[n + o - from] = '\0';
}
