/*
 * A reader of just enough JSON for runc's state.json: the top-level object's
 * keys are walked, three of them read, every other value skipped (the
 * container's config in it can be hundreds of kilobytes: seccomp, mounts).
 */
#include <stdbool.h>
#include <string.h>

#include "runc_state.h"

struct cursor {
	char *p;
	char *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool eat(struct cursor *c, char ch)
{
	skip_ws(c);
	if (c->p >= c->end || *c->p != ch)
		return false;
	c->p++;
	return true;
}

static int hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * At a '"': unescapes the string into its own place and NUL-terminates it
 * (the result is never longer than its escaped form, so the NUL lands at
 * the latest on the closing quote). *out is NULL for a non-ASCII \u escape.
 */
static bool read_string(struct cursor *c, const char **out)
{
	if (!eat(c, '"'))
		return false;
	char *dst = c->p, *start = c->p;
	bool plain = true;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p++;
		if ((unsigned char)ch < 0x20)
			return false;
		if (ch != '\\') {
			*dst++ = ch;
			continue;
		}
		if (c->p >= c->end)
			return false;
		ch = *c->p++;
		switch (ch) {
		case '"':
		case '\\':
		case '/':
			*dst++ = ch;
			break;
		case 'b':
			*dst++ = '\b';
			break;
		case 'f':
			*dst++ = '\f';
			break;
		case 'n':
			*dst++ = '\n';
			break;
		case 'r':
			*dst++ = '\r';
			break;
		case 't':
			*dst++ = '\t';
			break;
		case 'u': {
			if (c->end - c->p < 4)
				return false;
			int v = 0;
			for (int i = 0; i < 4; i++) {
				int h = hex(c->p[i]);
				if (h < 0)
					return false;
				v = v * 16 + h;
			}
			c->p += 4;
			/* Go escapes <, > and & this way; a NUL would cut the string short. */
			if (v == 0 || v > 0x7f)
				plain = false;
			else
				*dst++ = (char)v;
			break;
		}
		default:
			return false;
		}
	}
	if (c->p >= c->end)
		return false;
	c->p++; /* the closing quote, which dst has not passed */
	*dst = '\0';
	*out = plain ? start : NULL;
	return true;
}

/* Deeper nesting is not runc's state (its config nests about six levels). */
#define MAX_DEPTH 64

/* Any value: a string, a number or literal, or a nested object or array. */
static bool skip_value(struct cursor *c)
{
	/* Bit d set: the container opened at depth d is an object, else an array. */
	unsigned long long objects = 0;
	int depth = 0;
	skip_ws(c);
	do {
		if (c->p >= c->end)
			return false;
		char ch = *c->p;
		if (ch == '"') {
			const char *ignored;
			if (!read_string(c, &ignored))
				return false;
		} else if (ch == '{' || ch == '[') {
			if (depth == MAX_DEPTH)
				return false;
			if (ch == '{')
				objects |= 1ULL << depth;
			else
				objects &= ~(1ULL << depth);
			depth++;
			c->p++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0 || ((objects >> (depth - 1)) & 1) != (ch == '}'))
				return false;
			depth--;
			c->p++;
		} else if (depth > 0 && (ch == ',' || ch == ':' || ch == ' ' || ch == '\t' ||
					 ch == '\n' || ch == '\r')) {
			c->p++;
		} else {
			/* A number, true, false or null: up to the next delimiter. */
			char *from = c->p;
			while (c->p < c->end && !strchr(",:]} \t\n\r\"{[", *c->p))
				c->p++;
			if (c->p == from)
				return false;
		}
	} while (depth > 0);
	return true;
}

static bool read_number(struct cursor *c, long long *out)
{
	skip_ws(c);
	long long v = 0;
	char *from = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (v > 0x7fffffff)
			return false;
		v = v * 10 + (*c->p++ - '0');
	}
	if (c->p == from)
		return false;
	*out = v;
	return true;
}

/* An object of string values, each kept (null for an absent map counts as empty). */
static bool read_paths(struct cursor *c, struct runc_state *out)
{
	skip_ws(c);
	if (c->end - c->p >= 4 && !strncmp(c->p, "null", 4)) {
		c->p += 4;
		return true;
	}
	if (!eat(c, '{'))
		return false;
	if (eat(c, '}'))
		return true;
	do {
		const char *key, *path;
		if (!read_string(c, &key) || !eat(c, ':'))
			return false;
		skip_ws(c);
		if (!read_string(c, &path) || !path)
			return false;
		if (out->n_cgroup_paths == RUNC_MAX_CGROUP_PATHS)
			return false;
		out->cgroup_paths[out->n_cgroup_paths++] = path;
	} while (eat(c, ','));
	return eat(c, '}');
}

int runc_state_parse(char *text, size_t len, struct runc_state *out)
{
	struct cursor c = {.p = text, .end = text + len};
	memset(out, 0, sizeof *out);
	out->init_pid = -1;
	bool have_paths = false;
	if (!eat(&c, '{'))
		return -1;
	if (!eat(&c, '}')) {
		do {
			const char *key;
			if (!read_string(&c, &key) || !key || !eat(&c, ':'))
				return -1;
			bool ok;
			if (!strcmp(key, "id")) {
				skip_ws(&c);
				ok = read_string(&c, &out->id) && out->id;
			} else if (!strcmp(key, "init_process_pid")) {
				ok = read_number(&c, &out->init_pid);
			} else if (!strcmp(key, "cgroup_paths")) {
				out->n_cgroup_paths = 0;
				ok = read_paths(&c, out);
				have_paths = true;
			} else {
				ok = skip_value(&c);
			}
			if (!ok)
				return -1;
		} while (eat(&c, ','));
		if (!eat(&c, '}'))
			return -1;
	}
	return out->id && out->init_pid > 0 && have_paths ? 0 : -1;
}
