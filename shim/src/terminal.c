/*
 * Console socket: the runtime creates the pty inside the container and sends
 * us the master over a unix socket. The socket lives in the process folder;
 * the shim binds it by a relative name (its working directory is that
 * folder) because sun_path holds only 108 bytes. The runtime cannot use the
 * relative name (runc chdirs into the bundle first), so it gets the absolute
 * path when that fits, else /proc/PID/cwd/console.sock, which is short and
 * reaches the same socket through the shim's working directory.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "protocol.h"
#include "terminal.h"
#include "util.h"

int term_listen(char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, CONSOLE_SOCKET_FILE, sizeof CONSOLE_SOCKET_FILE);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	unlink(CONSOLE_SOCKET_FILE);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	return fd;
fail:
	fmt(err, errlen, "console socket: %s", errstr(errno));
	return -1;
}

int term_accept(int listen_fd)
{
	int fd;
	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	return fd;
}

/*
 * Returns the master fd, -1 with errno EAGAIN if nothing has arrived yet, or
 * -1 with another errno (ECONNRESET when the peer closed without sending one).
 */
int term_recv_master(int conn_fd)
{
	char data[1024];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof ctl.buf,
	};
	ssize_t n;
	do
		n = recvmsg(conn_fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
			set_nonblock(fd);
			return fd;
		}
	}
	errno = n == 0 ? ECONNRESET : EAGAIN;
	return -1;
}

void term_resize(int master, unsigned width, unsigned height)
{
	struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		log_warn("resize terminal to %ux%u: %s", width, height, errstr(errno));
}

/* "Close stdin" on a terminal: the line discipline turns VEOF into EOF for the reader. */
void term_send_eof(int master)
{
	struct termios t;
	char c = 4; /* ^D, when the terminal does not say otherwise */
	if (tcgetattr(master, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
		c = (char)t.c_cc[VEOF];
	ssize_t n;
	do
		n = write(master, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		log_warn("send EOF to terminal: %s", n < 0 ? errstr(errno) : "short write");
}

const char *term_socket_path(const char *dir)
{
	static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n = fmt(path, sizeof path, "%s/%s", dir, CONSOLE_SOCKET_FILE);
	if (n < 0 || (size_t)n >= sizeof path)
		fmt(path, sizeof path, "/proc/%d/cwd/%s", (int)getpid(), CONSOLE_SOCKET_FILE);
	return path;
}

void term_unlink_socket(void)
{
	unlink(CONSOLE_SOCKET_FILE);
}
