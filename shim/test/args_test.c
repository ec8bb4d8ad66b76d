/* args_parse: the command line of PROTOCOL.md, its forms and its errors. */
#include "../src/args.h"
#include "check.h"
#include "tests.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof *(a)))

static void test_args_every_option_in_both_forms(void)
{
	char *argv[] = {"berth-shim",
			"--ready-fd",
			"3",
			"--mode=run",
			"--stdin",
			"/in",
			"--stdout=/out",
			"--stderr",
			"",
			"--terminal",
			"--no-pivot",
			"--oom",
			"--self-delete",
			"--runtime-arg",
			"--root",
			"--runtime-arg=/r",
			"--stdio-timeout",
			"0",
			"--drain-timeout=86400000",
			"id",
			"/bundle",
			"runc"};
	struct options o;
	CHECK(args_parse(ARGC(argv), argv, &o) == NULL);
	CHECK(o.ready_fd == 3);
	CHECK(o.mode == MODE_RUN);
	CHECK_STR(o.stdin_path, "/in");
	CHECK_STR(o.stdout_path, "/out");
	CHECK_STR(o.stderr_path, "");
	CHECK(o.terminal && o.no_pivot && o.oom && o.self_delete && !o.version);
	CHECK(o.n_runtime_args == 2);
	CHECK_STR(o.runtime_args[0], "--root");
	CHECK_STR(o.runtime_args[1], "/r");
	CHECK(o.stdio_timeout_ms == 0);
	CHECK(o.drain_timeout_ms == 86400000);
	CHECK_STR(o.id, "id");
	CHECK_STR(o.bundle, "/bundle");
	CHECK_STR(o.runtime, "runc");
}

static void test_args_defaults_and_positionals_anywhere(void)
{
	char *argv[] = {"berth-shim", "id", "--oom", "/bundle", "runc"};
	struct options o;
	CHECK(args_parse(ARGC(argv), argv, &o) == NULL);
	CHECK(o.mode == MODE_CREATE);
	CHECK(o.ready_fd == -1);
	CHECK(o.stdio_timeout_ms == 10000);
	CHECK(o.drain_timeout_ms == 30000);
	CHECK(!o.self_delete);
	CHECK_STR(o.bundle, "/bundle");
}

static void test_args_restore_needs_a_checkpoint(void)
{
	char *argv[] = {"berth-shim", "--mode", "restore", "id", "/b", "runc"};
	struct options o;
	CHECK_STR(args_parse(ARGC(argv), argv, &o), "--mode restore needs --checkpoint");
	char *with[] = {"berth-shim", "--mode",        "restore",           "--checkpoint",
			"/ck",        "--restore-arg", "--tcp-established", "id",
			"/b",         "runc"};
	CHECK(args_parse(ARGC(with), with, &o) == NULL);
	CHECK(o.mode == MODE_RESTORE && o.n_restore_args == 1);
}

static void test_args_errors_name_what_is_wrong(void)
{
	struct {
		char *argv[8];
		const char *error;
	} cases[] = {
		{{"s", "--bogus", "i", "b", "r"}, "unknown option --bogus"},
		{{"s", "--oom=1", "i", "b", "r"}, "--oom takes no value"},
		{{"s", "--self-delete=yes", "i", "b", "r"}, "--self-delete takes no value"},
		{{"s", "i", "b", "r", "--stdin"}, "--stdin needs a value"},
		{{"s", "--mode", "start", "i", "b", "r"},
		 "--mode must be create, run, exec or restore, not \"start\""},
		{{"s", "--stdio-timeout", "-1", "i", "b", "r"},
		 "--stdio-timeout must be a number of milliseconds, not \"-1\""},
		{{"s", "--drain-timeout=1e3", "i", "b", "r"},
		 "--drain-timeout must be a number of milliseconds, not \"1e3\""},
		{{"s", "--ready-fd", "x", "i", "b", "r"},
		 "--ready-fd must be a descriptor number, not \"x\""},
		{{"s", "i", "b"}, "usage: berth-shim [OPTIONS] CONTAINER_ID BUNDLE RUNTIME"},
		{{"s", "i", "b", "r", "x"}, "unexpected argument \"x\""},
		{{"s", "", "b", "r"}, "container id and runtime must not be empty"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int argc = 0;
		while (argc < 8 && cases[i].argv[argc])
			argc++;
		struct options o;
		CHECK_STR(args_parse(argc, cases[i].argv, &o), cases[i].error);
	}
}

static void test_args_error_still_finds_the_ready_fd(void)
{
	char *argv[] = {"berth-shim", "--bogus", "--ready-fd", "5", "i", "b", "r"};
	struct options o;
	CHECK(args_parse(ARGC(argv), argv, &o) != NULL);
	CHECK(o.ready_fd == 5);
}

static void test_args_version_needs_nothing_else(void)
{
	char *argv[] = {"berth-shim", "--version"};
	struct options o;
	CHECK(args_parse(ARGC(argv), argv, &o) == NULL);
	CHECK(o.version);
}

static void test_args_bounds_repeated_options(void)
{
	char *argv[2 + 2 * (MAX_EXTRA_ARGS + 1) + 3];
	int argc = 0;
	argv[argc++] = "berth-shim";
	for (int i = 0; i <= MAX_EXTRA_ARGS; i++) {
		argv[argc++] = "--runtime-arg";
		argv[argc++] = "--debug";
	}
	argv[argc++] = "i";
	argv[argc++] = "b";
	argv[argc++] = "r";
	struct options o;
	CHECK_STR(args_parse(argc, argv, &o), "more than 32 --runtime-arg");
	CHECK(o.n_runtime_args == MAX_EXTRA_ARGS);
}

void args_tests(void)
{
	test_args_every_option_in_both_forms();
	test_args_defaults_and_positionals_anywhere();
	test_args_restore_needs_a_checkpoint();
	test_args_errors_name_what_is_wrong();
	test_args_error_still_finds_the_ready_fd();
	test_args_version_needs_nothing_else();
	test_args_bounds_repeated_options();
}
