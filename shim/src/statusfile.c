/*
 * State files in the process folder. A crash (of the shim or the machine)
 * must leave either the old or the new content, never a torn file: write a
 * temporary file, fsync it, rename it over the name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "protocol.h"
#include "statusfile.h"
#include "util.h"

int write_atomic(const char *name, const char *content)
{
	char tmp[256];
	int e;
	int n = fmt(tmp, sizeof tmp, ".%s.tmp", name);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -1;
	size_t len = strlen(content), off = 0;
	while (off < len) {
		ssize_t w = write(fd, content + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, name) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

/*
 * The exit status's temporary file, made while the process starts: a disk
 * that fills up while the process runs must not cost its exit status, so the
 * status is written at exit into space the file holds already.
 */
static int reserved_fd = -1;
#define RESERVED_BYTES 16

static bool write_all(int fd, const char *buf, size_t len, off_t at)
{
	size_t off = 0;
	while (off < len) {
		ssize_t w = pwrite(fd, buf + off, len - off, at + (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	return true;
}

int reserve_exit_status(void)
{
	static const char blank[RESERVED_BYTES] = "               \n";
	char tmp[64];
	fmt(tmp, sizeof tmp, ".%s.tmp", EXIT_STATUS_FILE);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -1;
	if (!write_all(fd, blank, sizeof blank, 0)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	reserved_fd = fd;
	return 0;
}

void release_exit_status(void)
{
	char tmp[64];
	if (reserved_fd < 0)
		return;
	close(reserved_fd);
	reserved_fd = -1;
	fmt(tmp, sizeof tmp, ".%s.tmp", EXIT_STATUS_FILE);
	unlink(tmp);
}

/* Into the reserved file: overwritten in place, cut to length, synced, renamed. */
static int write_reserved(const char *content)
{
	char tmp[64];
	size_t len = strlen(content);
	int fd = reserved_fd;
	reserved_fd = -1;
	fmt(tmp, sizeof tmp, ".%s.tmp", EXIT_STATUS_FILE);
	bool ok = write_all(fd, content, len, 0) && ftruncate(fd, (off_t)len) == 0;
	ok = ok && fsync(fd) == 0;
	int e = errno;
	if (!ok) {
		close(fd);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, EXIT_STATUS_FILE) < 0)
		return -1;
	return 0;
}

int write_exit_status(int status)
{
	char s[16];
	fmt(s, sizeof s, "%d", status);
	if (reserved_fd >= 0 && write_reserved(s) == 0)
		return 0;
	/* Nothing reserved, or the reserved file failed: a fresh one (needs space). */
	return write_atomic(EXIT_STATUS_FILE, s);
}

/*
 * Field 22 of /proc/PID/stat. Field 2 is the command name in parentheses and
 * may itself contain spaces and ')', so counting starts after the last ')'.
 */
int write_starttime(pid_t pid)
{
	char path[64], buf[2048];
	fmt(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof buf) < 0)
		return -1;
	char *p = strrchr(buf, ')');
	if (!p)
		goto bad;
	p++;
	/* p is now at " S ..." : field 3 follows the first space. */
	for (int field = 2; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			goto bad;
		p++;
	}
	char *end = p;
	while (*end >= '0' && *end <= '9')
		end++;
	if (end == p)
		goto bad;
	*end = '\0';
	return write_atomic(START_TIME_FILE, p);
bad:
	errno = EINVAL;
	return -1;
}

int read_pid_file(pid_t *out)
{
	char buf[32];
	if (read_file(PID_FILE, buf, sizeof buf) < 0)
		return -1;
	char *end = buf + strlen(buf);
	while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	long v;
	if (!parse_long(buf, &v) || v <= 0 || v > 0x7fffffff) {
		errno = EINVAL;
		return -1;
	}
	*out = (pid_t)v;
	return 0;
}
