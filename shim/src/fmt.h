/*
 * snprintf without libc's stdio, which would more than double the shim's
 * resident size (see fmt.c); errstr is strerror, named for symmetry.
 */
#ifndef BERTH_FMT_H
#define BERTH_FMT_H

#include <stdarg.h>
#include <stddef.h>

int fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
int fmt_v(char *buf, size_t cap, const char *f, va_list ap) __attribute__((format(printf, 3, 0)));
/*
 * One line for a reader that takes lines: formatted, cut to fit cap (at least
 * 2), newlines and carriage returns inside turned into spaces, a newline
 * added. Returns its length (no NUL is counted or promised).
 */
size_t fmt_line(char *buf, size_t cap, const char *f, va_list ap)
	__attribute__((format(printf, 3, 0)));
const char *errstr(int e);

#endif
