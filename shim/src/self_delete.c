#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "runc_state.h"
#include "self_delete.h"
#include "util.h"

/* runc's RemovePaths: five rounds, 10 ms before the second, doubling. */
#define CGROUP_REMOVE_ROUNDS 5
#define CGROUP_REMOVE_FIRST_DELAY_MS 10
/* Sub-cgroups a container made under its own (runc removes them first too). */
#define CGROUP_MAX_DEPTH 8

const char *runtime_root_arg(const struct options *o)
{
	const char *root = NULL;
	for (int i = 0; i < o->n_runtime_args; i++) {
		const char *a = o->runtime_args[i];
		/* The last one wins, as in runc's flag parsing. */
		if (!strcmp(a, "--root") && i + 1 < o->n_runtime_args)
			root = o->runtime_args[++i];
		else if (!strncmp(a, "--root=", 7))
			root = a + 7;
	}
	return root && *root ? root : NULL;
}

/* runc's own rule for ids ([\w+-\.]+), which also makes the id one path component. */
static bool runc_id(const char *id)
{
	if (!*id || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *p = id; *p; p++) {
		char ch = *p;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

static bool is_runc(const char *runtime)
{
	const char *slash = strrchr(runtime, '/');
	return !strcmp(slash ? slash + 1 : runtime, "runc");
}

/* Absolute, and no "." or ".." component: nothing but the directory runc named. */
static bool plain_absolute(const char *path)
{
	if (path[0] != '/' || !path[1])
		return false;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
	}
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One directory's entries with getdents64 into a buffer of ours: opendir()
 * would link malloc into the shim, and with it pages every shim pays for. */
struct raw_dirent {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/*
 * Calls each(dfd, name, type, ctx) for every entry but "." and ".."; stops at
 * the first nonzero return, which it returns (-1 when reading failed).
 */
static int for_each_entry(int dfd, int (*each)(int, const char *, unsigned char, void *), void *ctx)
{
	char buf[2048] __attribute__((aligned(8)));
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		for (long off = 0; off < n;) {
			struct raw_dirent *e = (struct raw_dirent *)(buf + off);
			off += e->reclen;
			if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
				continue;
			int rc = each(dfd, e->name, e->type, ctx);
			if (rc)
				return rc;
		}
	}
}

/*
 * runc's RemovePath: rmdir, else the sub-cgroups first, then rmdir again.
 * path is a buffer of PATH_BUF bytes, extended and restored in place.
 */
static int remove_cgroup_dir(char *path, int depth);

struct cgroup_walk {
	char *path;
	size_t len;
	int depth;
};

static int remove_sub_cgroup(int dfd, const char *name, unsigned char type, void *ctx)
{
	(void)dfd;
	struct cgroup_walk *w = ctx;
	if (type != DT_DIR)
		return 0;
	if (!join_path(w->path + w->len, PATH_BUF - w->len, "", name))
		return -1;
	int rc = remove_cgroup_dir(w->path, w->depth + 1);
	w->path[w->len] = '\0';
	return rc;
}

static int remove_cgroup_dir(char *path, int depth)
{
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	if (depth == CGROUP_MAX_DEPTH)
		return -1;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct cgroup_walk w = {.path = path, .len = strlen(path), .depth = depth};
	int rc = for_each_entry(fd, remove_sub_cgroup, &w);
	close(fd);
	if (rc == 0 && rmdir(path) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

static bool on_cgroupfs(const char *path)
{
	struct statfs st;
	if (statfs(path, &st) < 0)
		return errno == ENOENT; /* already gone: nothing to remove */
	return st.f_type == CGROUP_SUPER_MAGIC || st.f_type == CGROUP2_SUPER_MAGIC;
}

static int remove_cgroups(const struct runc_state *st)
{
	static char path[PATH_BUF];
	bool left[RUNC_MAX_CGROUP_PATHS];
	int why[RUNC_MAX_CGROUP_PATHS];
	int n_left = st->n_cgroup_paths;
	for (int i = 0; i < st->n_cgroup_paths; i++) {
		const char *p = st->cgroup_paths[i];
		if (!plain_absolute(p) || strlen(p) >= sizeof path || !on_cgroupfs(p)) {
			log_warn("self-delete: cgroup path \"%.256s\" is not a cgroup directory",
				 p);
			return -1;
		}
		left[i] = true;
		why[i] = 0;
	}
	long delay = CGROUP_REMOVE_FIRST_DELAY_MS;
	for (int round = 0; n_left > 0; round++) {
		if (round == CGROUP_REMOVE_ROUNDS) {
			for (int i = 0; i < st->n_cgroup_paths; i++)
				if (left[i])
					log_warn("self-delete: cannot remove cgroup %.256s: %s",
						 st->cgroup_paths[i], errstr(why[i]));
			return -1;
		}
		if (round > 0) {
			sleep_ms(delay);
			delay *= 2;
		}
		for (int i = 0; i < st->n_cgroup_paths; i++) {
			if (!left[i])
				continue;
			/* Hierarchies mounted together (cpu,cpuacct) share a path: gone once is
			 * gone. */
			strcpy(path, st->cgroup_paths[i]);
			if (remove_cgroup_dir(path, 0) == 0 || access(path, F_OK) < 0) {
				left[i] = false;
				n_left--;
			} else {
				why[i] = errno;
			}
		}
	}
	return 0;
}

static int empty_dir(int dfd, int depth);

static int remove_entry(int dfd, const char *name, unsigned char type, void *ctx)
{
	(void)type;
	int depth = *(int *)ctx;
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR || depth == CGROUP_MAX_DEPTH)
		return -1;
	int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0 || empty_dir(sub, depth + 1) < 0 ||
	    (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT))
		return -1;
	return 0;
}

/* Everything in the directory open as dfd, depth first; dfd is closed. */
static int empty_dir(int dfd, int depth)
{
	int rc = for_each_entry(dfd, remove_entry, &depth);
	close(dfd);
	return rc;
}

/*
 * The state dir, state.json first: from then on runc knows no such
 * container (`runc state` says it does not exist, `runc list` skips it).
 */
static int remove_state_dir(int root_fd, const char *id)
{
	int dfd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	if (unlinkat(dfd, "state.json", 0) < 0 && errno != ENOENT) {
		close(dfd);
		return -1;
	}
	if (empty_dir(dfd, 0) < 0)
		return -1;
	return unlinkat(root_fd, id, AT_REMOVEDIR);
}

/* Maps <root>/<id>/state.json privately (writable: strings are unescaped in place). */
static char *map_state(int root_fd, const char *id, size_t *len)
{
	char name[PATH_BUF];
	if (!join_path(name, sizeof name, id, "state.json"))
		return NULL;
	int fd = openat(root_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *text = NULL;
	if (fstat(fd, &st) < 0) {
		/* errno says why */
	} else if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		errno = EINVAL;
	} else {
		text = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (text == MAP_FAILED)
			text = NULL;
		*len = (size_t)st.st_size;
	}
	int e = errno;
	close(fd);
	errno = e;
	return text;
}

int self_delete(const struct options *o, pid_t init_pid)
{
	const char *root = runtime_root_arg(o);
	if (!is_runc(o->runtime) || !root || !runc_id(o->id)) {
		log_warn("self-delete: not for runtime %.256s, root %.256s, id %.256s", o->runtime,
			 root ? root : "(none)", o->id);
		return -1;
	}
	int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		log_warn("self-delete: open %.256s: %s", root, errstr(errno));
		return -1;
	}
	size_t len = 0;
	char *text = map_state(root_fd, o->id, &len);
	if (!text) {
		log_warn("self-delete: read %.256s/%s/state.json: %s", root, o->id, errstr(errno));
		close(root_fd);
		return -1;
	}
	struct runc_state st;
	int rc = -1;
	if (runc_state_parse(text, len, &st) < 0)
		log_warn("self-delete: %.256s/%s/state.json: not runc's state as known", root,
			 o->id);
	else if (strcmp(st.id, o->id) || st.init_pid != init_pid)
		log_warn("self-delete: state.json names container %.256s, init pid %lld, not "
			 "this one's",
			 st.id, st.init_pid);
	else if (remove_cgroups(&st) == 0 && (rc = remove_state_dir(root_fd, o->id)) < 0)
		log_warn("self-delete: remove %.256s/%s: %s", root, o->id, errstr(errno));
	munmap(text, len);
	close(root_fd);
	if (rc == 0)
		log_info("self-delete: removed %d cgroup directories and %.256s/%s",
			 st.n_cgroup_paths, root, o->id);
	return rc;
}
