/*
 * stream_drain_state: the four ways an output stream's drain ends after the
 * process exited (PROTOCOL.md, "Stdio"), on a stream set up by hand.
 */
#include "../src/stream.h"
#include "check.h"
#include "tests.h"

#define IDLE 200
#define STALL 30000
#define LEFTOVER 2000

static struct stream draining(long long exit_at)
{
	struct stream s;
	memset(&s, 0, sizeof s);
	s.active = true;
	s.src = 100; /* any descriptor: never used here */
	s.dst = 101;
	stream_drain_begin(&s, exit_at);
	return s;
}

static enum drain_state state(const struct stream *s, long long now, long long *until)
{
	*until = now + 0x7fffffff;
	return stream_drain_state(s, now, IDLE, STALL, LEFTOVER, until);
}

static void test_drain_done_once_the_pipe_ended_and_all_is_written(void)
{
	struct stream s = draining(1000);
	s.src = -1;
	long long until;
	CHECK(state(&s, 1000, &until) == DRAIN_DONE);
	s.len = 10; /* still held */
	CHECK(state(&s, 1000, &until) == DRAIN_WAIT);
}

static void test_drain_idle_pipe_ends_it_after_the_idle_time(void)
{
	struct stream s = draining(1000);
	s.own_left = 5;
	long long until;
	CHECK(state(&s, 1100, &until) == DRAIN_WAIT);
	CHECK(until == 1000 + IDLE);
	CHECK(state(&s, 1000 + IDLE, &until) == DRAIN_IDLE);
}

static void test_drain_stalled_reader_is_given_up_on(void)
{
	struct stream s = draining(1000);
	s.len = 100; /* pending, the reader takes nothing */
	s.own_left = 1 << 20;
	long long until;
	CHECK(state(&s, 1000 + IDLE, &until) == DRAIN_WAIT);
	CHECK(until == 1000 + STALL);
	CHECK(state(&s, 1000 + STALL, &until) == DRAIN_STALLED);
}

static void test_drain_leftover_writer_is_cut_off(void)
{
	struct stream s = draining(1000);
	s.own_left = 10;
	s.read_since_exit = 10; /* the process's own output is through */
	long long until;
	s.last_io = 1000 + LEFTOVER - 1; /* a child keeps writing */
	CHECK(state(&s, 1000 + LEFTOVER - 1, &until) == DRAIN_WAIT);
	CHECK(until == 1000 + LEFTOVER);
	s.last_io = 1000 + LEFTOVER;
	CHECK(state(&s, 1000 + LEFTOVER, &until) == DRAIN_LEFTOVER);
}

void drain_tests(void)
{
	test_drain_done_once_the_pipe_ended_and_all_is_written();
	test_drain_idle_pipe_ends_it_after_the_idle_time();
	test_drain_stalled_reader_is_given_up_on();
	test_drain_leftover_writer_is_cut_off();
}
