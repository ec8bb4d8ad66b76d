/*
 * self_delete's own checks, on a runc root made in a temporary folder: what
 * does not match is left alone (and reported, so runc's delete runs).
 * Cgroups cannot be made here without root; a state with none recorded
 * stands for one whose cgroups are gone.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/self_delete.h"
#include "check.h"
#include "tests.h"

static char root[64];

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static char dir[128];

static void write_state(const char *id, const char *json)
{
	snprintf(dir, sizeof dir, "%s/%s", root, id);
	mkdir(dir, 0700);
	char path[160];
	snprintf(path, sizeof path, "%s/state.json", dir);
	FILE *f = fopen(path, "w");
	fputs(json, f);
	fclose(f);
	/* runc's FIFO, gone once started; here as any other file in the folder. */
	snprintf(path, sizeof path, "%s/exec.fifo", dir);
	mkfifo(path, 0600);
}

static struct options runc_options(const char *id, const char *runtime)
{
	static char root_arg[80];
	struct options o = {.id = id, .runtime = runtime};
	snprintf(root_arg, sizeof root_arg, "--root=%s", root);
	o.runtime_args[o.n_runtime_args++] = "--debug";
	o.runtime_args[o.n_runtime_args++] = root_arg;
	return o;
}

static void test_self_delete_removes_a_matching_state_dir(void)
{
	write_state("c1", "{\"id\":\"c1\",\"init_process_pid\":4242,\"cgroup_paths\":{}}");
	struct options o = runc_options("c1", "/usr/sbin/runc");
	CHECK(self_delete(&o, 4242) == 0);
	CHECK(access(dir, F_OK) < 0);
}

static void test_self_delete_leaves_what_does_not_match(void)
{
	static const char state[] = "{\"id\":\"c2\",\"init_process_pid\":4242,\"cgroup_paths\":{}}";
	write_state("c2", state);
	struct options o = runc_options("c2", "runc");
	CHECK(self_delete(&o, 4243) < 0); /* another init */
	struct options crun = runc_options("c2", "crun");
	CHECK(self_delete(&crun, 4242) < 0); /* another runtime's layout */
	struct options no_root = {.id = "c2", .runtime = "runc"};
	CHECK(self_delete(&no_root, 4242) < 0);
	CHECK(access(dir, F_OK) == 0);

	write_state("c3", "{\"id\":\"c2\",\"init_process_pid\":4242,\"cgroup_paths\":{}}");
	struct options other_id = runc_options("c3", "runc");
	CHECK(self_delete(&other_id, 4242) < 0);
	CHECK(access(dir, F_OK) == 0);

	/* A cgroup path that is no cgroup: never removed, even if empty. */
	write_state(
		"c4",
		"{\"id\":\"c4\",\"init_process_pid\":4242,\"cgroup_paths\":{\"cpu\":\"/tmp\"}}");
	struct options not_cgroup = runc_options("c4", "runc");
	CHECK(self_delete(&not_cgroup, 4242) < 0);
	CHECK(access(dir, F_OK) == 0);
	CHECK(access("/tmp", F_OK) == 0);

	/* An id that is not one path component. */
	struct options escape = runc_options("../c2", "runc");
	CHECK(self_delete(&escape, 4242) < 0);
	struct options missing = runc_options("c5", "runc");
	CHECK(self_delete(&missing, 4242) < 0);
}

static void test_runtime_root_arg(void)
{
	struct options o = {0};
	CHECK(runtime_root_arg(&o) == NULL);
	o.runtime_args[o.n_runtime_args++] = "--root";
	CHECK(runtime_root_arg(&o) == NULL); /* no value */
	o.runtime_args[o.n_runtime_args++] = "/a";
	CHECK_STR(runtime_root_arg(&o), "/a");
	o.runtime_args[o.n_runtime_args++] = "--root=/b";
	CHECK_STR(runtime_root_arg(&o), "/b");
	o.runtime_args[o.n_runtime_args++] = "--root=";
	CHECK(runtime_root_arg(&o) == NULL);
}

void self_delete_tests(void)
{
	snprintf(root, sizeof root, "/tmp/berth-shim-unit-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		check_failures++;
		return;
	}
	test_self_delete_removes_a_matching_state_dir();
	test_self_delete_leaves_what_does_not_match();
	test_runtime_root_arg();
	if (nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
		check_failures++;
}
