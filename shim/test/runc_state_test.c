/* runc_state_parse: runc 1.1's state.json, as Go writes it. */
#include <stdlib.h>

#include "../src/runc_state.h"
#include "check.h"
#include "tests.h"

static int parse(const char *json, struct runc_state *st, char **copy)
{
	*copy = strdup(json);
	return runc_state_parse(*copy, strlen(*copy), st);
}

static void test_runc_state_reads_id_pid_and_cgroups(void)
{
	/* Keys in runc's order; the config holds strings that look like keys. */
	const char *json =
		"{\"id\":\"tp-1\",\"init_process_pid\":25427,\"init_process_start\":1569282,"
		"\"config\":{\"labels\":[\"x=\\\"cgroup_paths\\\":{\\\"a\\\":\\\"/b\\\"}\"],"
		"\"hooks\":null,\"namespaces\":[{\"type\":\"NEWPID\",\"path\":\"\"}],"
		"\"n\":-1.5e3,\"t\":true,\"u\":\"\\u003cx\\u003e\",\"w\":\"\\u2028\"},"
		"\"rootless\":false,"
		"\"cgroup_paths\":{\"\":\"/sys/fs/cgroup/unified/tp-1\","
		"\"cpu\":\"/sys/fs/cgroup/cpu/tp-1\",\"name=systemd\":\"/sys/fs/cgroup/systemd/tp\\/1\"},"
		"\"namespace_paths\":{\"NEWPID\":\"/proc/25427/ns/pid\"},\"external_descriptors\":[],"
		"\"intel_rdt_path\":\"\"}";
	struct runc_state st;
	char *copy;
	CHECK(parse(json, &st, &copy) == 0);
	CHECK_STR(st.id, "tp-1");
	CHECK(st.init_pid == 25427);
	CHECK(st.n_cgroup_paths == 3);
	CHECK_STR(st.cgroup_paths[0], "/sys/fs/cgroup/unified/tp-1");
	CHECK_STR(st.cgroup_paths[1], "/sys/fs/cgroup/cpu/tp-1");
	CHECK_STR(st.cgroup_paths[2], "/sys/fs/cgroup/systemd/tp/1");
	free(copy);
}

static void test_runc_state_whitespace_and_null_paths(void)
{
	struct runc_state st;
	char *copy;
	CHECK(parse(" {\n \"cgroup_paths\" : null ,\"init_process_pid\": 7, \"id\" : \"a\" }\n",
		    &st, &copy) == 0);
	CHECK(st.n_cgroup_paths == 0);
	CHECK(st.init_pid == 7);
	CHECK_STR(st.id, "a");
	free(copy);
}

static void test_runc_state_refuses_what_it_does_not_know(void)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"id\":\"a\",\"init_process_pid\":7}",                    /* no cgroup_paths */
		"{\"id\":\"a\",\"cgroup_paths\":{}}",                       /* no pid */
		"{\"init_process_pid\":7,\"cgroup_paths\":{}}",             /* no id */
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{}", /* cut short */
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{\"cpu\":1}}",
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{\"cpu\":\"/\\u00e9\"}}",
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{\"cpu\":\"/a\\u0000b\"}}",
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{\"cpu\":\"/a\\qb\"}}",
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{\"cpu\":\"/a\nb\"}}",
		"{\"id\":\"a\",\"init_process_pid\":99999999999,\"cgroup_paths\":{}}",
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{},\"x\":{]}}",
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{},\"x\":[}]}",
		"{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{},\"x\":}",
		"{\"id\":\"a\" \"init_process_pid\":7,\"cgroup_paths\":{}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct runc_state st;
		char *copy;
		if (parse(bad[i], &st, &copy) == 0) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			check_failures++;
		}
		free(copy);
	}
}

static void test_runc_state_bounds_the_number_of_paths(void)
{
	char json[4096] = "{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{";
	for (int i = 0; i <= RUNC_MAX_CGROUP_PATHS; i++) {
		char entry[64];
		snprintf(entry, sizeof entry, "%s\"h%d\":\"/c/%d\"", i ? "," : "", i, i);
		strcat(json, entry);
	}
	strcat(json, "}}");
	struct runc_state st;
	CHECK(runc_state_parse(json, strlen(json), &st) < 0);
}

static int parse_nested(int depth)
{
	char json[512] = "{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{},\"x\":";
	size_t n = strlen(json);
	for (int i = 0; i < depth; i++)
		json[n++] = '[';
	for (int i = 0; i < depth; i++)
		json[n++] = ']';
	json[n++] = '}';
	json[n] = '\0';
	struct runc_state st;
	return runc_state_parse(json, n, &st);
}

static void test_runc_state_bounds_nesting(void)
{
	CHECK(parse_nested(64) == 0);
	CHECK(parse_nested(65) < 0);
}

static void test_runc_state_reads_no_further_than_len(void)
{
	/* The closing brace lies beyond len: a parser that ran on would accept it. */
	const char json[] = "{\"id\":\"a\",\"init_process_pid\":7,\"cgroup_paths\":{}}";
	char *copy = strdup(json);
	struct runc_state st;
	CHECK(runc_state_parse(copy, strlen(copy) - 1, &st) < 0);
	free(copy);
}

void runc_state_tests(void)
{
	test_runc_state_reads_id_pid_and_cgroups();
	test_runc_state_whitespace_and_null_paths();
	test_runc_state_refuses_what_it_does_not_know();
	test_runc_state_bounds_the_number_of_paths();
	test_runc_state_bounds_nesting();
	test_runc_state_reads_no_further_than_len();
}
