/* Small helpers over raw descriptors, sized by the caller: nothing allocates. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PATH_BUF 4096

long long mono_ms(void);
int set_nonblock(int fd);
bool parse_long(const char *s, long *out);
ssize_t read_file(const char *path, char *buf, size_t cap);
int for_each_line(const char *path, int (*cb)(char *line, void *ctx), void *ctx);
bool join_path(char *out, size_t cap, const char *dir, const char *name);

#endif
