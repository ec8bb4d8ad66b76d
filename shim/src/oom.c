/*
 * OOM watch on the container's memory cgroup, reported as "oom\n" lines on
 * the exit FIFO so that the TypeScript side needs no native code.
 *
 * cgroup v1: an eventfd registered through cgroup.event_control on
 * memory.oom_control. The kernel also signals it when the cgroup is removed,
 * so an event only counts while the cgroup directory exists.
 * cgroup v2: inotify on memory.events; an OOM kill is a growth of oom_kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "oom.h"
#include "protocol.h"
#include "util.h"

enum oom_kind { OOM_NONE, OOM_V1, OOM_V2 };

static enum oom_kind kind;
static int watch_fd = -1;
static char cg_dir[PATH_BUF];
static char events_path[PATH_BUF];
static unsigned long long last_kills;

struct cg_lookup {
	char v1[PATH_BUF]; /* cgroup path in the memory hierarchy */
	char v2[PATH_BUF]; /* cgroup path in the unified hierarchy */
	bool has_v1, has_v2;
};

static bool has_token(const char *list, const char *tok)
{
	size_t tl = strlen(tok);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == tl && !memcmp(p, tok, tl))
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

static int cgroup_line(char *line, void *ctx)
{
	struct cg_lookup *l = ctx;
	char *c1 = strchr(line, ':');
	char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2)
		return 0;
	*c1 = *c2 = '\0';
	const char *ctrls = c1 + 1, *path = c2 + 1;
	if (strlen(path) >= PATH_BUF)
		return 0;
	if (!strcmp(line, "0") && !*ctrls) {
		strcpy(l->v2, path);
		l->has_v2 = true;
	} else if (has_token(ctrls, "memory")) {
		strcpy(l->v1, path);
		l->has_v1 = true;
	}
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

struct mount_lookup {
	bool v2;        /* looking for the cgroup2 mount rather than v1 "memory" */
	const char *cg; /* the cgroup path to resolve */
	char *out;      /* PATH_BUF */
	bool found;
};

static int mount_line(char *line, void *ctx)
{
	struct mount_lookup *m = ctx;
	char *f[6];
	char *save = NULL, *tok = strtok_r(line, " ", &save);
	int n = 0;
	while (tok && n < 6) {
		f[n++] = tok;
		tok = strtok_r(NULL, " ", &save);
	}
	if (n < 6)
		return 0;
	/* Optional fields end with a lone "-", then fstype, source, super options. */
	while (tok && strcmp(tok, "-"))
		tok = strtok_r(NULL, " ", &save);
	char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
	char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
	char *super = source ? strtok_r(NULL, " ", &save) : NULL;
	if (!super)
		return 0;
	if (m->v2 ? strcmp(fstype, "cgroup2")
		  : (strcmp(fstype, "cgroup") || !has_token(super, "memory")))
		return 0;
	char *root = f[3], *mnt = f[4];
	unescape_octal(root);
	unescape_octal(mnt);
	const char *rel = m->cg;
	if (strcmp(root, "/")) {
		size_t rl = strlen(root);
		if (strncmp(m->cg, root, rl) || (m->cg[rl] != '/' && m->cg[rl] != '\0'))
			return 0; /* this mount does not show our cgroup */
		rel = m->cg + rl;
	}
	char dir[PATH_BUF];
	int w = fmt(dir, sizeof dir, "%s%s", mnt, rel);
	if (w < 0 || w >= PATH_BUF)
		return 0;
	/* Keep scanning: a later mount hides or supersedes an earlier one, and the
	 * library's cgroup reader (src/runtime/cgroups/paths.ts) takes the last too. */
	memcpy(m->out, dir, (size_t)w + 1);
	m->found = true;
	return 0;
}

static bool read_oom_kills(unsigned long long *out)
{
	char buf[1024];
	if (read_file(events_path, buf, sizeof buf) < 0)
		return false;
	for (char *p = buf; p && *p;) {
		if (!strncmp(p, "oom_kill ", 9)) {
			*out = strtoull(p + 9, NULL, 10);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

static int start_v1(void)
{
	char path[PATH_BUF], line[64];
	int efd = -1, ocfd = -1, ecfd = -1;
	if (!join_path(path, sizeof path, cg_dir, "memory.oom_control") ||
	    (ocfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	if (!join_path(path, sizeof path, cg_dir, "cgroup.event_control") ||
	    (ecfd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		goto fail;
	if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail;
	int n = fmt(line, sizeof line, "%d %d", efd, ocfd);
	if (write(ecfd, line, (size_t)n) != n)
		goto fail;
	/* The registration holds the eventfd; the two files are no longer needed. */
	close(ocfd);
	close(ecfd);
	return efd;
fail:
	log_warn("oom: cannot watch %s: %s", cg_dir, errstr(errno));
	if (efd >= 0)
		close(efd);
	if (ocfd >= 0)
		close(ocfd);
	if (ecfd >= 0)
		close(ecfd);
	return -1;
}

static int start_v2(void)
{
	int fd = -1;
	if (!join_path(events_path, sizeof events_path, cg_dir, "memory.events")) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		goto fail;
	/* Watch first, then take the baseline: a kill after the baseline always
	 * produces an event that finds the counter grown. */
	if (inotify_add_watch(fd, events_path, IN_MODIFY) < 0 || !read_oom_kills(&last_kills))
		goto fail;
	return fd;
fail:
	log_warn("oom: cannot watch %s: %s", events_path, errstr(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static struct cg_lookup lookup;

int oom_start(pid_t pid)
{
	char path[64];
	struct mount_lookup m = {.out = cg_dir};
	memset(&lookup, 0, sizeof lookup);
	fmt(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	if (for_each_line(path, cgroup_line, &lookup) < 0) {
		log_warn("oom: read %s: %s", path, errstr(errno));
		return -1;
	}
	if (lookup.has_v1) {
		m.cg = lookup.v1;
		for_each_line("/proc/self/mountinfo", mount_line, &m);
		if (m.found) {
			kind = OOM_V1;
			watch_fd = start_v1();
		}
	} else if (lookup.has_v2) {
		m.v2 = true;
		m.cg = lookup.v2;
		for_each_line("/proc/self/mountinfo", mount_line, &m);
		if (m.found) {
			kind = OOM_V2;
			watch_fd = start_v2();
		}
	}
	if (!m.found)
		log_warn("oom: no memory cgroup found for pid %d; OOM kills will not be reported",
			 (int)pid);
	else if (watch_fd >= 0)
		log_info("oom: watching %s (cgroup v%d)", cg_dir, kind == OOM_V1 ? 1 : 2);
	if (watch_fd < 0)
		kind = OOM_NONE;
	return watch_fd;
}

/* Called when the watch fd is readable, and once more before "exit" is reported. */
void oom_check(void (*emit)(const char *line))
{
	if (kind == OOM_V1) {
		uint64_t v;
		if (read(watch_fd, &v, sizeof v) != (ssize_t)sizeof v)
			return;
		if (access(cg_dir, F_OK) == 0) {
			log_info("oom: memory cgroup %s hit its limit", cg_dir);
			emit(EVENT_OOM "\n");
		}
	} else if (kind == OOM_V2) {
		struct inotify_event_buf {
			char b[4096];
		} ev;
		while (read(watch_fd, &ev, sizeof ev) > 0)
			;
		unsigned long long now;
		if (read_oom_kills(&now) && now > last_kills) {
			log_info("oom: %llu kill(s) in %s", now - last_kills, cg_dir);
			last_kills = now;
			emit(EVENT_OOM "\n");
		}
	}
}

void oom_stop(void)
{
	if (watch_fd >= 0)
		close(watch_fd);
	watch_fd = -1;
	kind = OOM_NONE;
}
