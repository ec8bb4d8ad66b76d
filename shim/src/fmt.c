/*
 * A minimal snprintf. The shim's resident size is essentially its static
 * binary (the kernel maps file pages around each fault), and a libc printf
 * (floating point, wide characters, positional arguments, and with glibc
 * locales) would more than double it. Supported: %d %i %u %x with l/ll/z, a '0' flag and a width;
 * %s with an optional .* or .N precision; %c; %%. The format attribute on
 * fmt() keeps the compiler checking every call.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "fmt.h"

struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, bool neg, unsigned long long v, unsigned base, int width,
		    bool zero)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	int len = n + (neg ? 1 : 0);
	if (neg && zero)
		put(o, '-');
	for (; len < width; len++)
		put(o, zero ? '0' : ' ');
	if (neg && !zero)
		put(o, '-');
	while (n)
		put(o, tmp[--n]);
}

int fmt_v(char *buf, size_t cap, const char *f, va_list ap)
{
	struct out o = {.buf = buf, .cap = cap};
	for (; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f++;
		bool zero = false;
		int width = 0, prec = -1, lng = 0;
		bool size = false;
		if (*f == '0') {
			zero = true;
			f++;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		if (*f == '.') {
			f++;
			if (*f == '*') {
				prec = va_arg(ap, int);
				f++;
			} else {
				prec = 0;
				while (*f >= '0' && *f <= '9')
					prec = prec * 10 + (*f++ - '0');
			}
		}
		while (*f == 'l') {
			lng++;
			f++;
		}
		if (*f == 'z') {
			size = true;
			f++;
		}
		switch (*f) {
		case 'd':
		case 'i': {
			long long v;
			if (size)
				v = va_arg(ap, ssize_t);
			else if (lng >= 2)
				v = va_arg(ap, long long);
			else if (lng)
				v = va_arg(ap, long);
			else
				v = va_arg(ap, int);
			/* Negated as unsigned: -LLONG_MIN does not fit a long long. */
			unsigned long long m = (unsigned long long)v;
			put_num(&o, v < 0, v < 0 ? 0ULL - m : m, 10, width, zero);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v;
			if (size)
				v = va_arg(ap, size_t);
			else if (lng >= 2)
				v = va_arg(ap, unsigned long long);
			else if (lng)
				v = va_arg(ap, unsigned long);
			else
				v = va_arg(ap, unsigned);
			put_num(&o, false, v, *f == 'x' ? 16 : 10, width, zero);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			for (int i = 0; s[i] && (prec < 0 || i < prec); i++)
				put(&o, s[i]);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			f--;
			break;
		default:
			put(&o, '%');
			put(&o, *f);
		}
	}
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return (int)o.len;
}

int fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = fmt_v(buf, cap, f, ap);
	va_end(ap);
	return n;
}

size_t fmt_line(char *buf, size_t cap, const char *f, va_list ap)
{
	int n = fmt_v(buf, cap - 1, f, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > cap - 2)
		n = (int)cap - 2;
	/* Its reader takes one line: what the text echoes (a path, a message) must not end it. */
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[n++] = '\n';
	return (size_t)n;
}

/* strerror, not glibc's strerrordesc_np: the shim also builds against musl. */
const char *errstr(int e)
{
	return strerror(e);
}
