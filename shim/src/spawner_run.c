/*
 * Runs are short: the runtime answers and exits. Their stdout and stderr are
 * read while they run (a pipe holds 64 kB; a runtime writing more would block)
 * and sent back in one answer once the child is reaped, so the library sees
 * the run whole or not at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt.h"
#include "spawn.h"
#include "spawner_reply.h"
#include "spawner_run.h"

#define MAX_RUNS (RUN_POLL_MAX / 2)
#define ARGS_MAX 256
/* The runtime's answers are JSON of a few kB; beyond this is dropped, not buffered. */
#define OUTPUT_MAX (16u << 20)

struct output {
	int fd;
	char *data;
	size_t len, cap;
};

struct run {
	long id;
	pid_t pid;
	struct output out, err;
};

static struct run runs[MAX_RUNS];
static int n_runs;

static void output_close(struct output *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}

/*
 * Output buffers are mapped, not malloc'd: the spawner is a mode of the shim
 * binary, and libc's allocator would add its code to every shim's resident
 * size. Unused mapped pages cost nothing.
 */
static bool output_grow(struct output *o)
{
	size_t cap = o->cap ? o->cap * 2 : 64 * 1024;
	void *data = o->cap ? mremap(o->data, o->cap, cap, MREMAP_MAYMOVE)
			    : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);
	if (data == MAP_FAILED)
		return false;
	o->data = data;
	o->cap = cap;
	return true;
}

static void output_free(struct output *o)
{
	if (o->cap)
		munmap(o->data, o->cap);
	o->data = NULL;
	o->cap = o->len = 0;
}

/* Reads what is there without blocking; closes the pipe at EOF or on error. */
static void output_read(struct output *o)
{
	while (o->fd >= 0) {
		if (o->len == o->cap && o->cap < OUTPUT_MAX)
			output_grow(o);
		char discard[4096];
		bool room = o->cap > o->len;
		ssize_t n = room ? read(o->fd, o->data + o->len, o->cap - o->len)
				 : read(o->fd, discard, sizeof discard);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			output_close(o);
			return;
		}
		if (room)
			o->len += (size_t)n;
	}
}

static void close_all(int *fds, int count)
{
	for (int i = 0; i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

void run_start(char *fields[], int n_fields)
{
	long id = parse_id(fields[0]);
	if (n_fields < 4 || (fields[2][0] != '-' && fields[2][0] != '=')) {
		reply("%ld error %d malformed request", id, EINVAL);
		return;
	}
	if (n_runs == MAX_RUNS) {
		reply("%ld error %d too many runs in flight", id, EAGAIN);
		return;
	}
	char *argv[ARGS_MAX + 1];
	int argc = 0;
	for (int i = 3; i < n_fields && argc < ARGS_MAX; i++)
		argv[argc++] = fields[i];
	argv[argc] = NULL;
	const char *input = fields[2][0] == '=' ? fields[2] + 1 : NULL;
	/* Read and write ends. */
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	if ((input && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0) {
		int e = errno;
		int fds[] = {in[0], in[1], out[0], out[1], err[0], err[1]};
		close_all(fds, (int)(sizeof fds / sizeof fds[0]));
		reply("%ld error %d pipe: %s", id, e, errstr(e));
		return;
	}
	struct spawn_spec spec = {
		.cwd = fields[1],
		.stdio = {in[0], out[1], err[1]},
		.report_fd = -1,
	};
	pid_t pid = spawn_child(fields[3], argv, &spec);
	int spawn_errno = errno;
	int child_ends[] = {in[0], out[1], err[1]};
	close_all(child_ends, (int)(sizeof child_ends / sizeof child_ends[0]));
	if (pid < 0) {
		/* A child whose exec failed has exited: the SIGCHLD loop reaps it as nobody's. */
		int fds[] = {in[1], out[0], err[0]};
		close_all(fds, (int)(sizeof fds / sizeof fds[0]));
		reply("%ld error %d %s: %s", id, spawn_errno, fields[3], errstr(spawn_errno));
		return;
	}
	if (input) {
		/* The request buffer is smaller than a pipe's 64 kB: this fits without blocking. */
		size_t len = strlen(input);
		fcntl(in[1], F_SETFL, O_NONBLOCK);
		for (size_t off = 0; off < len;) {
			ssize_t w = write(in[1], input + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break; /* it exited without reading, or the pipe is full: its answer
					  says */
			off += (size_t)w;
		}
		close(in[1]);
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	runs[n_runs++] = (struct run){
		.id = id,
		.pid = pid,
		.out = {.fd = out[0]},
		.err = {.fd = err[0]},
	};
	reply("%ld spawned %d", id, (int)pid);
}

void run_kill(const char *id_field)
{
	long id = parse_id(id_field);
	/* Still in the table means not reaped: the PID is still this child's. */
	for (int i = 0; i < n_runs; i++)
		if (runs[i].id == id)
			kill(runs[i].pid, SIGKILL);
}

int run_active(void)
{
	return n_runs;
}

int run_poll_set(struct pollfd *pfd)
{
	int count = 0;
	for (int i = 0; i < n_runs; i++) {
		pfd[count++] = (struct pollfd){.fd = runs[i].out.fd, .events = POLLIN};
		pfd[count++] = (struct pollfd){.fd = runs[i].err.fd, .events = POLLIN};
	}
	return count;
}

void run_poll_ready(const struct pollfd *pfd, int count)
{
	/* Entries are in table order, two per run; a closed pipe (-1) is ignored by poll. */
	for (int i = 0; i + 1 < count && i / 2 < n_runs; i += 2) {
		if (pfd[i].revents)
			output_read(&runs[i / 2].out);
		if (pfd[i + 1].revents)
			output_read(&runs[i / 2].err);
	}
}

bool run_reaped(pid_t pid, int wait_status)
{
	for (int i = 0; i < n_runs; i++) {
		struct run *r = &runs[i];
		if (r->pid != pid)
			continue;
		/* All it wrote is in the pipes now; what a child of its writes later is not its
		 * answer. */
		output_read(&r->out);
		output_read(&r->err);
		output_close(&r->out);
		output_close(&r->err);
		int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
		int sig = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
		reply("%ld exited %d %d %zu %zu", r->id, code, sig, r->out.len, r->err.len);
		reply_bytes(r->out.data, r->out.len);
		reply_bytes(r->err.data, r->err.len);
		output_free(&r->out);
		output_free(&r->err);
		runs[i] = runs[--n_runs];
		return true;
	}
	return false;
}
