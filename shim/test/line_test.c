/* line.c: lines split across reads, several per read, overlong ones dropped whole, the rest at EOF.
 */
#include "../src/line.h"
#include "check.h"
#include "tests.h"

/* Feeds text in chunks of `step` bytes; collects the lines joined by '|'. */
static void feed(struct line_buf *lb, const char *text, size_t step, char *out, size_t cap,
		 bool at_eof)
{
	size_t off = 0, total = strlen(text);
	out[0] = '\0';
	while (off < total) {
		size_t room;
		char *to = line_room(lb, &room);
		size_t n = total - off < step ? total - off : step;
		if (n > room)
			n = room;
		memcpy(to, text + off, n);
		off += n;
		line_filled(lb, n);
		char *line;
		size_t len;
		while ((line = line_next(lb, &len))) {
			CHECK(strlen(line) == len);
			strncat(out, line, cap - strlen(out) - 2);
			strcat(out, "|");
		}
	}
	if (at_eof) {
		size_t len;
		char *rest = line_rest(lb, &len);
		if (rest) {
			strncat(out, rest, cap - strlen(out) - 2);
			strcat(out, "$");
		}
	}
}

static void test_line_splits_across_reads(void)
{
	for (size_t step = 1; step <= 8; step++) {
		char buf[16], out[256];
		struct line_buf lb;
		line_init(&lb, buf, sizeof buf, '\n');
		feed(&lb, "0 0 0\n1 80 24\n\nlast", step, out, sizeof out, true);
		CHECK_STR(out, "0 0 0|1 80 24||last$");
		CHECK(lb.dropped == 0);
	}
}

static void test_line_drops_overlong_lines_whole(void)
{
	for (size_t step = 1; step <= 20; step += 3) {
		char buf[8], out[256];
		struct line_buf lb;
		line_init(&lb, buf, sizeof buf, '\n');
		/* Lines of up to 6 bytes fit (with their separator, then NUL); "1234567" does not.
		 */
		feed(&lb, "ok\n1234567\nabcdefghijklmnop\nafter\n123456\n", step, out, sizeof out,
		     true);
		CHECK_STR(out, "ok|after|123456|");
		CHECK(lb.dropped == 2);
	}
}

static void test_line_rest_of_a_dropped_line_is_not_a_line(void)
{
	char buf[8], out[64];
	struct line_buf lb;
	line_init(&lb, buf, sizeof buf, '\n');
	feed(&lb, "a\nxxxxxxxxxxxx", 4, out, sizeof out, true);
	CHECK_STR(out, "a|");
	CHECK(lb.dropped == 1);
}

static void test_line_nul_fields(void)
{
	char buf[32];
	struct line_buf lb;
	line_init(&lb, buf, sizeof buf, '\0');
	size_t room;
	char *to = line_room(&lb, &room);
	memcpy(to, "run\0id\0\0ki", 10);
	line_filled(&lb, 10);
	size_t len;
	CHECK_STR(line_next(&lb, &len), "run");
	CHECK_STR(line_next(&lb, &len), "id");
	char *empty = line_next(&lb, &len);
	CHECK(empty && len == 0);
	CHECK(line_next(&lb, &len) == NULL);
	to = line_room(&lb, &room);
	memcpy(to, "ll\0", 3);
	line_filled(&lb, 3);
	CHECK_STR(line_next(&lb, &len), "kill");
}

static void test_line_full_holds_one_unfinished_line(void)
{
	char buf[6];
	struct line_buf lb;
	line_init(&lb, buf, sizeof buf, '\n');
	size_t room;
	char *to = line_room(&lb, &room);
	CHECK(room == 5);
	memcpy(to, "abcde", 5);
	line_filled(&lb, 5);
	size_t len;
	CHECK(line_next(&lb, &len) == NULL);
	CHECK(line_full(&lb));
	CHECK_STR(line_rest(&lb, &len), "abcde");
	CHECK(len == 5);
	CHECK(!line_full(&lb));
}

void line_tests(void)
{
	test_line_splits_across_reads();
	test_line_drops_overlong_lines_whole();
	test_line_rest_of_a_dropped_line_is_not_a_line();
	test_line_nul_fields();
	test_line_full_holds_one_unfinished_line();
}
